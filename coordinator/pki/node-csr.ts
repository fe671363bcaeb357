import { createPublicKey, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import forge from "node-forge";
import { UserError } from "../../shared/errors.js";
import { issueCertificate } from "./certificate.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { canonicalIp, ipFromBytes } from "./ip-address.js";
import { asn1ToBuffer } from "../../shared/tbs-signer.js";

/**
 * Validates the PKCS#10 request an agent sends with `POST /v1/join` and signs the node's
 * certificate. The agent generated its key on the node; only the public key and the names it
 * asks for travel, and the coordinator decides what ends up in the certificate: the subject and
 * key usages are always ours, only SANs are taken from the request, and only those the node may
 * claim. Agents must send RSA (2048+) CSRs: node-forge, which lays out the certificates, cannot
 * read EC or Ed25519 keys.
 */

export type CsrRejectionCode =
  | "csr_malformed"
  | "csr_signature_invalid"
  | "csr_weak_key"
  | "csr_subject_forbidden"
  | "csr_san_forbidden"
  | "csr_extension_forbidden";

/** A CSR the coordinator refuses to sign; `code` is stable and goes into the API error body. */
export class CsrRejected extends UserError {
  override name = "CsrRejected";
  constructor(
    readonly code: CsrRejectionCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface NodeCsrExpectations {
  nodeName: string;
  allowedDnsNames: string[];
  allowedIps: string[];
}

export interface ValidatedCsr {
  publicKeyPem: string;
  /** Lower-cased, de-duplicated. */
  dnsNames: string[];
  /** Canonical text (ip-address.ts), de-duplicated. */
  ips: string[];
}

export const NODE_ORGANIZATION = "system:nodes";
export const nodeCommonName = (nodeName: string): string => `system:node:${nodeName}`;

const MIN_RSA_BITS = 2048;
/** Bounds the cost of the signature check an unauthenticated-size input can demand. */
const MAX_RSA_BITS = 8192;
const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  extensionRequest: "1.2.840.113549.1.9.14",
} as const;
/** RSASSA-PKCS1-v1_5 with SHA-2; SHA-1 and MD5 requests are refused. */
const SIGNATURE_HASHES: Record<string, string> = {
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};
const ALLOWED_EXTENSIONS = new Set(["subjectAltName", "keyUsage", "extKeyUsage", "basicConstraints"]);

export function validateNodeCsr(csrPem: string, expect: NodeCsrExpectations): ValidatedCsr {
  const { csr, publicKey } = provenRequest(csrPem);
  checkSubject(csr, expect.nodeName);
  const extensions = requestedExtensions(csr);
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    ...checkedSubjectAltNames(extensions, expect),
  };
}

/** CN=system:node:<name>, O=system:nodes: what the kubelet and the Node authorizer expect. */
export function signNodeCertificate(
  pki: { ca: CertificateAndKeyPem },
  validated: ValidatedCsr,
  nodeName: string,
  validityDays = 365,
): string {
  return issueCertificate({
    issuer: pki.ca,
    subject: { commonName: nodeCommonName(nodeName), organizations: [NODE_ORGANIZATION] },
    publicKeyPem: validated.publicKeyPem,
    dnsNames: validated.dnsNames,
    ips: validated.ips,
    usages: ["clientAuth", "serverAuth"],
    validityDays,
  });
}

/**
 * Proof of possession: a well-formed request, an acceptable RSA key, and a signature made with
 * that key. Enough on its own for profile certificates, whose subject and SANs come from the
 * profile rather than the request.
 */
function provenRequest(csrPem: string): { csr: forge.pki.CertificateSigningRequest; publicKey: KeyObject } {
  const der = decodePem(csrPem);
  const publicKey = checkedPublicKey(der);
  const csr = parseRequest(der);
  checkSignature(csr, publicKey);
  return { csr, publicKey };
}

/** The public key of a CSR whose signature proves its sender holds the private key. */
export function provenPublicKeyPem(csrPem: string): string {
  return provenRequest(csrPem).publicKey.export({ type: "spki", format: "pem" }).toString();
}

function decodePem(csrPem: string): forge.asn1.Asn1 {
  try {
    const blocks = forge.pem.decode(csrPem);
    const block = blocks[0];
    if (blocks.length !== 1 || block === undefined) throw new Error(`expected one PEM block, found ${blocks.length}`);
    if (block.type !== "CERTIFICATE REQUEST" && block.type !== "NEW CERTIFICATE REQUEST") {
      throw new Error(`PEM block is "${block.type}", not "CERTIFICATE REQUEST"`);
    }
    return forge.asn1.fromDer(block.body, true);
  } catch (err) {
    throw new CsrRejected("csr_malformed", `CSR is not a PEM PKCS#10 request: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Read with node:crypto before forge sees the request: forge throws on any non-RSA key, which
 * would otherwise be reported as "malformed" instead of the key policy the agent must fix.
 */
function checkedPublicKey(der: forge.asn1.Asn1): KeyObject {
  const spki = child(child(der, 0), 2);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: asn1ToBuffer(spki), format: "der", type: "spki" });
  } catch (err) {
    throw new CsrRejected("csr_malformed", "CSR public key cannot be read", { cause: err });
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== "rsa") {
    throw new CsrRejected("csr_weak_key", `CSR key is ${key.asymmetricKeyType ?? "unknown"}; node keys must be RSA`);
  }
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new CsrRejected("csr_weak_key", `CSR key is RSA-${bits}; node keys must be RSA ${MIN_RSA_BITS}–${MAX_RSA_BITS} bits`);
  }
  return key;
}

/** The n-th element of a constructed ASN.1 value; a missing one means the structure is wrong. */
function child(value: forge.asn1.Asn1, index: number): forge.asn1.Asn1 {
  const found = Array.isArray(value.value) ? value.value[index] : undefined;
  if (found === undefined) throw new CsrRejected("csr_malformed", "CSR is not a PKCS#10 CertificationRequest");
  return found;
}

function parseRequest(der: forge.asn1.Asn1): forge.pki.CertificateSigningRequest {
  try {
    return forge.pki.certificationRequestFromAsn1(der, false);
  } catch (err) {
    throw new CsrRejected("csr_malformed", `CSR cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Proof of possession, checked by OpenSSL (forge's pure-JS check costs milliseconds). PKCS#10
 * signs the DER of the CertificationRequestInfo, and DER is canonical, so re-encoding what forge
 * parsed reproduces the signed bytes; a non-DER request fails here, as it should.
 */
function checkSignature(csr: forge.pki.CertificateSigningRequest, publicKey: KeyObject): void {
  const hash = csr.signatureOid === null ? undefined : SIGNATURE_HASHES[csr.signatureOid];
  if (hash === undefined) {
    throw new CsrRejected("csr_signature_invalid", `CSR signature algorithm ${csr.signatureOid} is not sha256/384/512WithRSAEncryption`);
  }
  const info = csr.certificationRequestInfo;
  const ok =
    info !== null &&
    typeof csr.signature === "string" &&
    verify(hash, asn1ToBuffer(info), publicKey, Buffer.from(csr.signature, "binary"));
  if (!ok) throw new CsrRejected("csr_signature_invalid", "CSR signature does not verify with its own public key");
}

function checkSubject(csr: forge.pki.CertificateSigningRequest, nodeName: string): void {
  const want = `CN=${nodeCommonName(nodeName)}, O=${NODE_ORGANIZATION}`;
  const commonNames: string[] = [];
  const organizations: string[] = [];
  for (const attr of csr.subject.attributes) {
    const value = typeof attr.value === "string" ? attr.value : "";
    if (attr.type === OID.commonName) commonNames.push(value);
    else if (attr.type === OID.organization) organizations.push(value);
    else {
      throw new CsrRejected("csr_subject_forbidden", `CSR subject has ${attr.shortName ?? attr.name ?? attr.type}; only ${want} is allowed`);
    }
  }
  if (commonNames.length !== 1 || commonNames[0] !== nodeCommonName(nodeName)) {
    throw new CsrRejected("csr_subject_forbidden", `CSR subject CN is ${JSON.stringify(commonNames)}; want ${want}`);
  }
  if (organizations.length !== 1 || organizations[0] !== NODE_ORGANIZATION) {
    throw new CsrRejected("csr_subject_forbidden", `CSR subject O is ${JSON.stringify(organizations)}; want ${want}`);
  }
}

interface RequestedExtension {
  id: string;
  name?: string;
  cA?: boolean;
  /** A string for primitive elements; forge yields an array of children for constructed ones. */
  altNames?: { type: number; value: unknown }[];
}

/**
 * Requested keyUsage/extKeyUsage and basicConstraints CA:false are tolerated (common CSR tools
 * add them) but ignored: the certificate gets ours. Anything else — other extensions, other CSR
 * attributes, CA:true — is
 * refused rather than dropped, so a confused or hostile agent learns it at once.
 */
function requestedExtensions(csr: forge.pki.CertificateSigningRequest): RequestedExtension[] {
  const extensions: RequestedExtension[] = [];
  let requests = 0;
  for (const attr of csr.attributes) {
    if (attr.type !== OID.extensionRequest) {
      throw new CsrRejected("csr_extension_forbidden", `CSR attribute ${attr.name ?? attr.type} is not allowed`);
    }
    if (++requests > 1) throw new CsrRejected("csr_extension_forbidden", "CSR has more than one extensionRequest");
    extensions.push(...((attr.extensions ?? []) as RequestedExtension[]));
  }
  const seen = new Set<string>();
  for (const ext of extensions) {
    const label = ext.name ?? ext.id;
    if (!ALLOWED_EXTENSIONS.has(ext.name ?? "")) {
      throw new CsrRejected("csr_extension_forbidden", `CSR requests extension ${label}; only subjectAltName, keyUsage, extKeyUsage and basicConstraints CA:false are allowed`);
    }
    if (ext.name === "basicConstraints" && ext.cA === true) {
      throw new CsrRejected("csr_extension_forbidden", "CSR requests a CA certificate (basicConstraints CA:true)");
    }
    if (seen.has(ext.id)) throw new CsrRejected("csr_extension_forbidden", `CSR requests extension ${label} twice`);
    seen.add(ext.id);
  }
  return extensions;
}

const GENERAL_NAME_TYPES: Record<number, string> = { 0: "otherName", 1: "email", 4: "directoryName", 6: "URI", 8: "registeredID" };

function checkedSubjectAltNames(
  extensions: RequestedExtension[],
  expect: NodeCsrExpectations,
): { dnsNames: string[]; ips: string[] } {
  const allowedDns = new Set(expect.allowedDnsNames.map((n) => n.toLowerCase()));
  const allowedIps = new Set(expect.allowedIps.map(canonicalIp));
  const dnsNames = new Set<string>();
  const ips = new Set<string>();
  const altNames = extensions.find((e) => e.name === "subjectAltName")?.altNames ?? [];
  for (const altName of altNames) {
    if (altName.type === 2) {
      const value = primitiveSanValue(altName.value, "DNS", expect.nodeName);
      const name = value.toLowerCase();
      if (!allowedDns.has(name)) throw sanForbidden(`DNS:${value}`, expect.nodeName);
      dnsNames.add(name);
    } else if (altName.type === 7) {
      const ip = ipFromBytes(Buffer.from(primitiveSanValue(altName.value, "IP", expect.nodeName), "binary"));
      if (ip === undefined || !allowedIps.has(ip)) throw sanForbidden(`IP:${ip ?? "(malformed)"}`, expect.nodeName);
      ips.add(ip);
    } else {
      const kind = GENERAL_NAME_TYPES[altName.type] ?? `type ${altName.type}`;
      throw new CsrRejected("csr_san_forbidden", `CSR requests a ${kind} SAN; only DNS names and IP addresses are allowed`);
    }
  }
  return { dnsNames: [...dnsNames], ips: [...ips] };
}

/** DNS and IP names are primitive; a constructed one is hostile or broken, not a 500. */
function primitiveSanValue(value: unknown, kind: string, nodeName: string): string {
  if (typeof value !== "string") throw sanForbidden(`${kind}:(malformed)`, nodeName);
  return value;
}

function sanForbidden(san: string, nodeName: string): CsrRejected {
  return new CsrRejected("csr_san_forbidden", `CSR requests SAN ${san}, which node ${nodeName} may not claim`);
}
