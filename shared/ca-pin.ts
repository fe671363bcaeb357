import { createHash, X509Certificate } from "node:crypto";

/**
 * The CA pin: `sha256:<hex>` of the CA certificate's DER SubjectPublicKeyInfo — the same
 * convention as kubeadm's `--discovery-token-ca-cert-hash`, so it survives CA re-issuance with
 * the same key and can be computed with openssl:
 *   openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der | sha256sum
 */
export const CA_PIN_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function caPinOfPublicKeyDer(spkiDer: Buffer): string {
  return `sha256:${createHash("sha256").update(spkiDer).digest("hex")}`;
}

export function caPinOfCertificate(cert: X509Certificate | string | Buffer): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const der = x509.publicKey.export({ type: "spki", format: "der" });
  return caPinOfPublicKeyDer(der);
}

/**
 * The common name of the coordinator's serving certificate. Node certificates are signed by the
 * same CA and carry their node's addresses, so "signed by the pinned CA and valid for this
 * address" is not enough: a client must also see this name before it trusts a peer as the
 * coordinator (else a joined node claiming the coordinator's address could impersonate it).
 */
export const COORDINATOR_COMMON_NAME = "sprout-coordinator";
