import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ClusterSpec } from "../shared/cluster-spec.js";
import { UserError } from "../shared/errors.js";

export interface EdgeTls {
  certPem: string;
  keyPem: string;
}

/**
 * The user's own certificate for the edge's HTTPS (`edge.tls` in cluster.yaml), read once when
 * the coordinator starts. Paths are relative to the deployment directory. A missing file, a key
 * that does not belong to the certificate or an expired certificate stops `up`/`serve` with a
 * message naming the field, before any node is asked to serve it.
 */
export async function loadEdgeTls(spec: ClusterSpec, root: string, now = new Date()): Promise<EdgeTls | undefined> {
  const tls = spec.edge.tls;
  if (!tls) return undefined;
  const read = async (field: "certFile" | "keyFile") => {
    const path = resolve(root, tls[field]);
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw new UserError(`edge.tls.${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  };
  const [certPem, keyPem] = await Promise.all([read("certFile"), read("keyFile")]);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new UserError(`edge.tls.certFile: ${tls.certFile} is not a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new UserError(`edge.tls.keyFile: ${tls.keyFile} is not a PEM private key`);
  }
  if (!matches) throw new UserError(`edge.tls.keyFile: ${tls.keyFile} is not the key of the certificate in ${tls.certFile}`);
  if (new Date(cert.validTo) <= now) throw new UserError(`edge.tls.certFile: the certificate in ${tls.certFile} expired on ${new Date(cert.validTo).toISOString()}`);
  return { certPem, keyPem };
}
