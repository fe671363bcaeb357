import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import type { KeyObject } from "node:crypto";
import forge from "node-forge";
import { forgePublicKeyFromPem, privateKeyObject, spkiDerOf } from "./keys.js";
import { ipToBytes } from "./ip-address.js";
import { signCertificate } from "../../shared/tbs-signer.js";
import { boundedMemo } from "./bounded-memo.js";

/**
 * Issues X.509 v3 certificates: forge lays out the structure, node:crypto signs it
 * (tbs-signer.ts explains why), and node's X509Certificate checks the result before it leaves.
 */

export type ExtendedKeyUsage = "serverAuth" | "clientAuth";

export interface CertificateAndKeyPem {
  certPem: string;
  keyPem: string;
}

export interface SubjectName {
  commonName: string;
  organizations?: readonly string[];
}

interface IssueFields {
  subject: SubjectName;
  /** SPKI PEM of the key being certified; its private half may live elsewhere (a node). */
  publicKeyPem: string;
  dnsNames?: readonly string[];
  ips?: readonly string[];
  isCa?: boolean;
  usages: readonly ExtendedKeyUsage[];
  validityDays: number;
}

export type IssueCertificateOptions =
  | (IssueFields & { issuer: CertificateAndKeyPem })
  /** A self-signed certificate (a root CA) needs the private key that `publicKeyPem` belongs to. */
  | (IssueFields & { issuer: "self"; keyPem: string });

/** Tolerate clocks up to five minutes behind ours: a fresh node cert must be valid on arrival. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function issueCertificate(options: IssueCertificateOptions): string {
  checkFields(options);
  const signer = options.issuer === "self" ? selfSigner(options) : issuerSigner(options.issuer);
  const now = Date.now();
  const cert = forge.pki.createCertificate();
  cert.version = 2; // X.509 v3
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + options.validityDays * DAY_MS);
  cert.publicKey = forgePublicKeyFromPem(options.publicKeyPem);
  cert.setSubject(subjectAttributes(options.subject));
  cert.setIssuer(signer.name ?? subjectAttributes(options.subject));
  // After publicKey: forge derives the subjectKeyIdentifier from it.
  cert.setExtensions(extensions(options, signer.keyIdentifier));
  signCertificate(cert, signer.key);
  const certPem = forge.pki.certificateToPem(cert).replace(/\r\n/g, "\n");
  assertIssuedBy(certPem, signer.x509);
  return certPem;
}

/** True when the private key belongs to the certificate (no signature needed, a key comparison). */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
}

function checkFields(options: IssueCertificateOptions): void {
  if (options.subject.commonName === "") throw new Error("certificate subject needs a commonName");
  if (!(options.validityDays > 0)) throw new Error(`validityDays must be positive, got ${options.validityDays}`);
  for (const name of options.dnsNames ?? []) {
    // SAN dNSNames are IA5Strings: reject anything that is not an ASCII host name up front.
    if (!DNS_NAME.test(name)) throw new Error(`not a DNS name for a certificate: ${JSON.stringify(name)}`);
  }
}

interface Signer {
  key: KeyObject;
  /** Issuer DN attributes; undefined for self-signed (issuer = subject). */
  name?: forge.pki.CertificateField[];
  /** authorityKeyIdentifier bytes (forge binary string); `true` lets forge use our own SKI. */
  keyIdentifier: string | true;
  /** Checks the result; undefined for self-signed (checked against its own key). */
  x509?: X509Certificate;
}

function selfSigner(options: { keyPem: string; publicKeyPem: string }): Signer {
  if (!spkiDerOf(options.keyPem).equals(spkiDerOf(options.publicKeyPem))) {
    throw new Error("self-signed certificate: keyPem and publicKeyPem are not one key pair");
  }
  return { key: privateKeyObject(options.keyPem), keyIdentifier: true };
}

/** Parsing the issuer (forge and node) costs more than signing, so one parse per CA is kept. */
const issuerSigner = boundedMemo((issuer: CertificateAndKeyPem) => prepareIssuer(issuer), (i) => i.certPem + i.keyPem, 16);

function prepareIssuer(issuer: CertificateAndKeyPem): Signer {
  const x509 = new X509Certificate(issuer.certPem);
  const key = privateKeyObject(issuer.keyPem);
  if (!x509.ca) throw new Error(`issuer ${x509.subject} is not a CA certificate`);
  if (!x509.checkPrivateKey(key)) throw new Error(`issuer key does not belong to ${x509.subject}`);
  const parsed = forge.pki.certificateFromPem(issuer.certPem);
  const ski = parsed.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
  const keyIdentifier =
    ski?.subjectKeyIdentifier !== undefined
      ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
      : // RFC 5280 4.2.1.2 method 1, which is also how forge computes a subjectKeyIdentifier.
        forge.pki.getPublicKeyFingerprint(parsed.publicKey, { type: "RSAPublicKey" }).getBytes();
  return { key, name: issuerNameAttributes(parsed), keyIdentifier, x509 };
}

/**
 * forge parses DN values as raw bytes but UTF-8-encodes UTF8String values again when it writes
 * them, so decode first; otherwise a non-ASCII issuer name would not match the CA's subject.
 */
function issuerNameAttributes(issuer: forge.pki.Certificate): forge.pki.CertificateField[] {
  return issuer.subject.attributes.map((attr) =>
    attr.valueTagClass === (forge.asn1.Type.UTF8 as number) && typeof attr.value === "string"
      ? { ...attr, value: forge.util.decodeUtf8(attr.value) }
      : { ...attr },
  );
}

/** O before CN, the order Go's crypto/x509 (and so kubeadm) writes. UTF8String per RFC 5280. */
function subjectAttributes(subject: SubjectName): forge.pki.CertificateField[] {
  // @types/node-forge types valueTagClass as asn1.Class; forge actually stores the value's tag type.
  const utf8 = forge.asn1.Type.UTF8 as number as forge.asn1.Class;
  return [
    ...(subject.organizations ?? []).map((o) => ({ shortName: "O", value: o, valueTagClass: utf8 })),
    { shortName: "CN", value: subject.commonName, valueTagClass: utf8 },
  ];
}

function extensions(options: IssueFields, authorityKeyIdentifier: string | true): object[] {
  const isCa = options.isCa === true;
  const exts: object[] = [
    isCa
      ? { name: "basicConstraints", critical: true, cA: true, pathLenConstraint: 0 }
      : { name: "basicConstraints", critical: true, cA: false },
    isCa
      ? { name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true }
      : { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: authorityKeyIdentifier },
  ];
  if (options.usages.length > 0) {
    exts.push({ name: "extKeyUsage", ...Object.fromEntries(options.usages.map((u) => [u, true])) });
  }
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 2, value })), // dNSName
    ...(options.ips ?? []).map((ip) => ({ type: 7, value: ipToBytes(ip).toString("binary") })), // iPAddress
  ];
  if (altNames.length > 0) exts.push({ name: "subjectAltName", altNames });
  return exts;
}

/**
 * 16 random bytes with the top bit set, behind a 0x00 so the DER INTEGER stays positive:
 * a 128-bit serial with 127 random bits (RFC 5280 allows up to 20 octets; CAs use >= 64 bits).
 */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! | 0x80;
  return `00${bytes.toString("hex")}`;
}

/** A broken chain would only surface later as a TLS failure on some node; fail here instead. */
function assertIssuedBy(certPem: string, issuer: X509Certificate | undefined): void {
  const cert = new X509Certificate(certPem);
  const signer = issuer ?? cert;
  if (!cert.verify(signer.publicKey) || (issuer !== undefined && !cert.checkIssued(issuer))) {
    throw new Error(`issued certificate for ${cert.subject} does not verify against ${signer.subject}`);
  }
}
