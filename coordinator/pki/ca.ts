import { issueCertificate } from "./certificate.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { generateRsaKeyPair } from "./keys.js";

/**
 * A self-signed root CA: basicConstraints CA:true, pathlen 0 (Sprout issues leaves straight from
 * its CAs, so an intermediate minted by mistake would not be trusted), keyCertSign + cRLSign.
 */
export async function createCa(commonName: string, validityYears = 10): Promise<CertificateAndKeyPem> {
  const { keyPem, publicKeyPem } = await generateRsaKeyPair();
  return { certPem: createCaCertificate(commonName, keyPem, publicKeyPem, validityYears), keyPem };
}

/**
 * The CA certificate for an existing key. cluster-pki.ts uses it when a crash left a CA key but
 * not its certificate: the key (and so the CA pin) stays the same.
 */
export function createCaCertificate(
  commonName: string,
  keyPem: string,
  publicKeyPem: string,
  validityYears = 10,
): string {
  return issueCertificate({
    issuer: "self",
    keyPem,
    publicKeyPem,
    subject: { commonName },
    isCa: true,
    usages: [],
    validityDays: Math.round(validityYears * 365.25),
  });
}
