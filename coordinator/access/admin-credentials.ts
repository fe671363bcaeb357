import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import { issueClientCertificate, type ClusterPki } from "../pki/cluster-pki.js";
import { ADMIN_ORG } from "../server/middleware/client-identity.js";
import type { DeploymentPaths } from "../deployment.js";

/** The CLI's admin client certificate for the coordinator API (created once per deployment). */
export async function ensureAdminCredentials(paths: DeploymentPaths, pki: ClusterPki): Promise<{ certPem: string; keyPem: string }> {
  const certPath = join(paths.adminDir, "admin.crt");
  const keyPath = join(paths.adminDir, "admin.key");
  const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8").catch(() => undefined), readFile(keyPath, "utf8").catch(() => undefined)]);
  if (certPem && keyPem) return { certPem, keyPem };
  const issued = await issueClientCertificate(pki, { commonName: "sprout-admin", organizations: [ADMIN_ORG] });
  await writeFileAtomic(keyPath, issued.keyPem, 0o600);
  await writeFileAtomic(certPath, issued.certPem, 0o644);
  return issued;
}

/** What the CLI presents to a coordinator's admin API, and the CA it checks the server against. */
export async function readAdminTls(paths: DeploymentPaths): Promise<{ ca: string; cert: string; key: string }> {
  const [ca, cert, key] = await Promise.all([join(paths.pkiDir, "ca.crt"), join(paths.adminDir, "admin.crt"), join(paths.adminDir, "admin.key")].map((p) => readFile(p, "utf8")));
  return { ca: ca!, cert: cert!, key: key! };
}
