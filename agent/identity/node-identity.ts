import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { NODE_PATHS } from "../../shared/node-manifest.js";
import type { Host } from "../host/host.js";
import { generateNodeKey } from "./node-csr.js";

/**
 * The node's identity on disk: key (0600), certificate and CA bundle from the join. Kept across
 * agent restarts so the token is needed only once and a retried join presents the same key.
 */
export interface NodeIdentity {
  keyPem: string;
  certPem: string;
  caPem: string;
  /** Where the node joined (absent for identities stored before this was recorded). */
  coordinatorUrl?: string;
}

export async function loadOrCreateNodeKey(host: Host): Promise<string> {
  const existing = await host.readFile(NODE_PATHS.nodeKey);
  if (existing) return existing.toString("utf8");
  const keyPem = await generateNodeKey();
  if (!(host as { dryRun?: boolean }).dryRun) await host.writeFile(NODE_PATHS.nodeKey, keyPem, 0o600);
  return keyPem;
}

/** A stored identity that is still usable: cert matches the key and has at least an hour left. */
export async function loadNodeIdentity(host: Host): Promise<NodeIdentity | undefined> {
  const [key, cert, ca, url] = await Promise.all([host.readFile(NODE_PATHS.nodeKey), host.readFile(NODE_PATHS.nodeCert), host.readFile(NODE_PATHS.caBundle), host.readFile(NODE_PATHS.coordinatorUrl)]);
  if (!key || !cert || !ca) return undefined;
  try {
    const x509 = new X509Certificate(cert);
    const matches = x509.publicKey.export({ type: "spki", format: "der" }).equals(createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "der" }));
    if (!matches || Date.parse(x509.validTo) - Date.now() < 3_600_000) return undefined;
  } catch {
    return undefined;
  }
  return { keyPem: key.toString("utf8"), certPem: cert.toString("utf8"), caPem: ca.toString("utf8"), coordinatorUrl: url?.toString("utf8").trim() || undefined };
}

export async function storeNodeIdentity(host: Host, certPem: string, caPem: string, coordinatorUrl: string): Promise<void> {
  await host.writeFile(NODE_PATHS.caBundle, caPem, 0o644);
  await host.writeFile(NODE_PATHS.coordinatorUrl, `${coordinatorUrl}\n`, 0o644);
  // The certificate last: its presence is what marks the node as joined.
  await host.writeFile(NODE_PATHS.nodeCert, certPem, 0o644);
}
