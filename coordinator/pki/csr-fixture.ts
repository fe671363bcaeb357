import { createPrivateKey } from "node:crypto";
import forge from "node-forge";
import { forgePublicKeyFromPem } from "./keys.js";
import { signCertificationRequest } from "../../shared/tbs-signer.js";

/**
 * Test and bench support: builds PKCS#10 requests the way an agent does (RSA key made on the
 * node, SHA-256 signature), and lets tests craft the bad ones — other subjects, extra attributes,
 * forbidden extensions, a broken signature. Not used by the coordinator itself.
 */

export interface CsrFixtureOptions {
  /** PKCS#8 PEM of the RSA key that signs the request. */
  keyPem: string;
  /** SPKI PEM put into the request; normally the public half of keyPem. */
  publicKeyPem: string;
  subject: forge.pki.CertificateField[];
  /** forge extension descriptors, e.g. { name: "subjectAltName", altNames: [...] }. */
  extensions?: object[];
  /** Further CSR attributes, e.g. { name: "challengePassword", value: "x" }. */
  attributes?: forge.pki.CertificateField[];
}

export function nodeSubject(nodeName: string): forge.pki.CertificateField[] {
  return [
    { shortName: "O", value: "system:nodes" },
    { shortName: "CN", value: `system:node:${nodeName}` },
  ];
}

/** A subjectAltName descriptor in forge's shape (type 2 = dNSName, 7 = iPAddress). */
export function subjectAltNames(dnsNames: string[], ips: string[]): object {
  return {
    name: "subjectAltName",
    altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
  };
}

export function buildCsrPem(options: CsrFixtureOptions): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forgePublicKeyFromPem(options.publicKeyPem);
  csr.setSubject(options.subject);
  const attributes = [...(options.attributes ?? [])];
  if (options.extensions !== undefined && options.extensions.length > 0) {
    attributes.push({ name: "extensionRequest", extensions: options.extensions });
  }
  csr.setAttributes(attributes);
  signCertificationRequest(csr, createPrivateKey(options.keyPem));
  return forge.pki.certificationRequestToPem(csr).replace(/\r\n/g, "\n");
}

/** Flips one bit in the last byte of the DER — inside the signature BIT STRING. */
export function tamperSignature(csrPem: string): string {
  const block = forge.pem.decode(csrPem)[0];
  if (block === undefined) throw new Error("no PEM block to tamper with");
  const last = block.body.length - 1;
  const body = block.body.slice(0, last) + String.fromCharCode(block.body.charCodeAt(last) ^ 0x01);
  return forge.pem.encode({ type: block.type, body }).replace(/\r\n/g, "\n");
}
