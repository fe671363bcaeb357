import { createPrivateKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";
import { signCertificationRequest } from "../../shared/tbs-signer.js";

/**
 * The node's key and certificate request. The key is generated here, on the node, and never
 * leaves it; the coordinator sees only the CSR. RSA because node-forge (which builds the CSR)
 * has no EC support.
 */
export async function generateNodeKey(): Promise<string> {
  const { privateKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return privateKey;
}

/** CSR for `system:node:<name>` in `system:nodes`, with the node's names and addresses as SANs. */
export function buildNodeCsr(keyPem: string, nodeName: string, dnsNames: string[], ips: string[]): string {
  return buildCsr(keyPem, [
    { name: "commonName", value: `system:node:${nodeName}` },
    { name: "organizationName", value: "system:nodes" },
  ], { dnsNames, ips });
}

/**
 * A CSR proving possession of `keyPem`. For profile certificates the coordinator takes only the
 * key from it, so the subject is informational and there are no SANs.
 */
export function buildCsr(keyPem: string, subject: forge.pki.CertificateField[], sans?: { dnsNames: string[]; ips: string[] }): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
  csr.setSubject(subject);
  if (sans) {
    csr.setAttributes([
      {
        name: "extensionRequest",
        extensions: [{ name: "subjectAltName", altNames: [...sans.dnsNames.map((value) => ({ type: 2, value })), ...sans.ips.map((ip) => ({ type: 7, ip }))] }],
      },
    ]);
  }
  // OpenSSL signs (~1 ms); forge's pure-JS RSA took ~90 ms of every join.
  signCertificationRequest(csr, createPrivateKey(keyPem));
  return forge.pki.certificationRequestToPem(csr);
}
