import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { z } from "zod";
import type { Ingress } from "./kube-objects.js";
import { servedHere, ingressHost } from "./ingress-routes.js";

/** A `kubernetes.io/tls` Secret's data (base64, as the API returns it). */
export const TlsSecret = z.object({
  type: z.string().default("Opaque"),
  data: z.record(z.string(), z.string()).default({}),
});
export type TlsSecret = z.infer<typeof TlsSecret>;

/** One host an Ingress serves with its own certificate: `spec.tls[].hosts` and `secretName`. */
export interface TlsRef {
  host: string;
  namespace: string;
  secretName: string;
  /** The Ingress, for Events and logs. */
  ingress: { namespace: string; name: string; uid?: string };
}

/**
 * The hosts of served Ingresses that name a TLS Secret, short names expanded as their rules
 * are. A host two Ingresses claim gets the first one's (by namespace/name), as routes do.
 */
export function tlsRefs(ingresses: Ingress[], baseDomain: string): TlsRef[] {
  const out = new Map<string, TlsRef>();
  for (const ing of [...ingresses].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))) {
    if (!servedHere(ing)) continue;
    for (const t of ing.spec.tls) {
      if (!t.secretName) continue;
      for (const h of t.hosts) {
        const host = ingressHost(h, baseDomain);
        if (!out.has(host)) out.set(host, { host, namespace: ing.metadata.namespace, secretName: t.secretName, ingress: { namespace: ing.metadata.namespace, name: ing.metadata.name, uid: ing.metadata.uid } });
      }
    }
  }
  return [...out.values()];
}

/**
 * The PEM nginx serves for a Secret (certificate chain, then key), or why it cannot: a Secret
 * that is not `kubernetes.io/tls`, data that does not parse, or a key that is not the
 * certificate's. Checked here so a bad Secret never reaches `nginx -t`, which would refuse
 * every route with it.
 */
export function tlsPem(secret: TlsSecret): { pem: string } | { error: string } {
  if (secret.type !== "kubernetes.io/tls") return { error: `type ${secret.type}, not kubernetes.io/tls` };
  const decode = (k: string) => (secret.data[k] === undefined ? undefined : Buffer.from(secret.data[k]!, "base64").toString("utf8"));
  const cert = decode("tls.crt");
  const key = decode("tls.key");
  if (!cert || !key) return { error: "tls.crt or tls.key is missing" };
  try {
    const x509 = new X509Certificate(cert);
    const privateKey = createPrivateKey(key);
    if (!x509.checkPrivateKey(privateKey)) return { error: "tls.key is not the key of tls.crt" };
  } catch (err) {
    return { error: `tls.crt or tls.key does not parse as PEM: ${(err as Error).message}` };
  }
  return { pem: `${cert.trim()}\n${key.trim()}\n` };
}

/** Where a Secret's PEM is kept on the edge: named by a hash, so no Secret name reaches a path. */
export function tlsFileName(namespace: string, secretName: string): string {
  return `${createHash("sha256").update(`${namespace}/${secretName}`).digest("hex").slice(0, 24)}.pem`;
}
