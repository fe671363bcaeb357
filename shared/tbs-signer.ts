import { sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import forge from "node-forge";

/**
 * Signs forge-built ASN.1 (a TBSCertificate or a CertificationRequestInfo) with node:crypto.
 *
 * Why: forge's RSA private-key operation is pure JavaScript — about 20 ms per 2048-bit signature
 * on this machine, blocking the event loop — while OpenSSL takes about 0.25 ms. forge stays in
 * charge of the ASN.1/X.509 structure; only the RSASSA-PKCS1-v1_5 / SHA-256 signature moves.
 * bench/pki-sign.ts measures both paths.
 */

/** sha256WithRSAEncryption (RFC 4055). */
export const SHA256_WITH_RSA_OID = "1.2.840.113549.1.1.11";

/** forge's helpers that build the to-be-signed structures; they exist at runtime but are untyped. */
interface ForgeToBeSigned {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1;
}
const forgeInternals = forge.pki as unknown as ForgeToBeSigned;

/** DER bytes of a forge ASN.1 value as a Buffer (forge works in "binary" strings). */
export function asn1ToBuffer(value: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(value).getBytes(), "binary");
}

function signToBeSigned(toBeSigned: forge.asn1.Asn1, key: KeyObject): string {
  return sign("sha256", asn1ToBuffer(toBeSigned), key).toString("binary");
}

/**
 * Signs a fully populated forge certificate in place: the same steps as forge's `cert.sign`
 * (algorithm OID, cached TBSCertificate, signature) with the signature computed by OpenSSL.
 */
export function signCertificate(cert: forge.pki.Certificate, issuerKey: KeyObject): void {
  cert.signatureOid = SHA256_WITH_RSA_OID;
  cert.siginfo.algorithmOid = SHA256_WITH_RSA_OID;
  // certificateToPem reuses this cached TBSCertificate, so the bytes signed are the bytes emitted.
  cert.tbsCertificate = forgeInternals.getTBSCertificate(cert);
  cert.signature = signToBeSigned(cert.tbsCertificate, issuerKey);
}

/** The same for a PKCS#10 request (tests and the bench craft CSRs as an agent would). */
export function signCertificationRequest(csr: forge.pki.CertificateSigningRequest, key: KeyObject): void {
  csr.signatureOid = SHA256_WITH_RSA_OID;
  csr.siginfo.algorithmOid = SHA256_WITH_RSA_OID;
  csr.certificationRequestInfo = forgeInternals.getCertificationRequestInfo(csr);
  csr.signature = signToBeSigned(csr.certificationRequestInfo, key);
}
