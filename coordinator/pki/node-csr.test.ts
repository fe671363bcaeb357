import { execFileSync } from "node:child_process";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../shared/errors.js";
import { createCa } from "./ca.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { buildCsrPem, nodeSubject, subjectAltNames, tamperSignature } from "./csr-fixture.js";
import { generateRsaKeyPair } from "./keys.js";
import type { KeyPairPem } from "./keys.js";
import { CsrRejected, signNodeCertificate, validateNodeCsr } from "./node-csr.js";
import type { CsrRejectionCode, NodeCsrExpectations } from "./node-csr.js";

const expect1: NodeCsrExpectations = {
  nodeName: "node-1",
  allowedDnsNames: ["node-1", "node-1.cluster.local"],
  allowedIps: ["10.0.0.11", "fd00::11"],
};
const openssl = (args: string[], input?: string): string => execFileSync("openssl", args, { input, encoding: "utf8" });

let ca: CertificateAndKeyPem;
let nodeKey: KeyPairPem;
let work: string;
let nodeKeyFile: string;

beforeAll(async () => {
  [ca, nodeKey] = await Promise.all([createCa("kubernetes"), generateRsaKeyPair()]);
  work = mkdtempSync(join(tmpdir(), "sprout-csr-"));
  nodeKeyFile = join(work, "node.key");
  writeFileSync(nodeKeyFile, nodeKey.keyPem, { mode: 0o600 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A CSR as the agent builds it, with any part overridden. */
function csr(overrides: { subject?: forge.pki.CertificateField[]; extensions?: object[]; attributes?: forge.pki.CertificateField[]; key?: KeyPairPem } = {}): string {
  const key = overrides.key ?? nodeKey;
  return buildCsrPem({
    keyPem: key.keyPem,
    publicKeyPem: key.publicKeyPem,
    subject: overrides.subject ?? nodeSubject("node-1"),
    extensions: overrides.extensions ?? [subjectAltNames(["node-1"], ["10.0.0.11"])],
    attributes: overrides.attributes,
  });
}

/** An openssl-made CSR: the same thing from a second, independent implementation. */
function opensslCsr(keyFile: string, subject: string, extra: string[] = []): string {
  return openssl(["req", "-new", "-key", keyFile, "-subj", subject, ...extra]);
}

function rejection(csrPem: string, code: CsrRejectionCode): CsrRejected {
  let caught: unknown;
  try {
    validateNodeCsr(csrPem, expect1);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CsrRejected);
  expect(caught).toBeInstanceOf(UserError);
  expect((caught as CsrRejected).code).toBe(code);
  return caught as CsrRejected;
}

describe("validateNodeCsr + signNodeCertificate", () => {
  it("accepts the node's own names and signs a client+server certificate with our usages only", () => {
    const pem = csr({
      extensions: [
        subjectAltNames(["node-1", "NODE-1.cluster.local"], ["10.0.0.11", "fd00:0:0::11"]),
        // Tolerated but ignored: the certificate gets the coordinator's usages, not these.
        { name: "keyUsage", keyCertSign: true, digitalSignature: true },
        { name: "extKeyUsage", codeSigning: true },
        { name: "basicConstraints", cA: false },
      ],
    });
    const validated = validateNodeCsr(pem, expect1);
    expect(validated).toEqual({
      publicKeyPem: nodeKey.publicKeyPem,
      dnsNames: ["node-1", "node-1.cluster.local"],
      ips: ["10.0.0.11", "fd00::11"],
    });

    const certPem = signNodeCertificate({ ca }, validated, "node-1");
    const cert = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.subject).toBe("O=system:nodes\nCN=system:node:node-1");
    expect(cert.issuer).toBe("CN=kubernetes");
    expect(cert.ca).toBe(false);
    expect(cert.checkHost("node-1.cluster.local")).toBe("node-1.cluster.local");
    expect(cert.checkIP("10.0.0.11")).toBe("10.0.0.11");
    expect(cert.checkIP("fd00::11")).toBeDefined();
    expect([...(cert.keyUsage ?? [])].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(cert.checkPrivateKey(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey)).toBe(false);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364.9);
    expect(days).toBeLessThan(365.1);
    const text = openssl(["x509", "-noout", "-text"], certPem);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).not.toContain("Code Signing");

    const caFile = join(work, "ca.crt");
    const certFile = join(work, "node.crt");
    writeFileSync(caFile, ca.certPem);
    writeFileSync(certFile, certPem);
    for (const purpose of ["sslclient", "sslserver"]) {
      expect(openssl(["verify", "-CAfile", caFile, "-purpose", purpose, certFile])).toContain(": OK");
    }
  });

  it("accepts a request without SANs and one made by openssl", () => {
    expect(validateNodeCsr(csr({ extensions: [] }), expect1)).toMatchObject({ dnsNames: [], ips: [] });
    const fromOpenssl = opensslCsr(nodeKeyFile, "/O=system:nodes/CN=system:node:node-1", [
      "-addext",
      "subjectAltName=DNS:node-1,IP:10.0.0.11",
    ]);
    expect(validateNodeCsr(fromOpenssl, expect1)).toEqual({
      publicKeyPem: nodeKey.publicKeyPem,
      dnsNames: ["node-1"],
      ips: ["10.0.0.11"],
    });
  });
});

describe("CsrRejected", () => {
  it("csr_malformed: not PEM, not a CSR, a broken body", () => {
    rejection("", "csr_malformed");
    rejection("hello", "csr_malformed");
    expect(rejection(ca.certPem, "csr_malformed").message).toMatch(/"CERTIFICATE", not "CERTIFICATE REQUEST"/);
    const good = csr();
    const truncated = forge.pem.encode({ type: "CERTIFICATE REQUEST", body: forge.pem.decode(good)[0]!.body.slice(0, 200) });
    rejection(truncated, "csr_malformed");
    rejection(good + good, "csr_malformed");
  });

  it("csr_signature_invalid: a tampered signature, a SHA-1 signature", () => {
    expect(rejection(tamperSignature(csr()), "csr_signature_invalid").message).toContain("does not verify");
    const sha1 = opensslCsr(nodeKeyFile, "/O=system:nodes/CN=system:node:node-1", ["-sha1"]);
    expect(rejection(sha1, "csr_signature_invalid").message).toContain("1.2.840.113549.1.1.5");
  });

  it("csr_weak_key: RSA-1024 and EC keys", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 1024,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    expect(rejection(csr({ key: { keyPem: privateKey, publicKeyPem: publicKey } }), "csr_weak_key").message).toContain("RSA-1024");

    const ecKeyFile = join(work, "ec.key");
    writeFileSync(ecKeyFile, openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]));
    const ec = opensslCsr(ecKeyFile, "/O=system:nodes/CN=system:node:node-1");
    expect(rejection(ec, "csr_weak_key").message).toBe("CSR key is ec; node keys must be RSA");
  });

  it("csr_subject_forbidden: another node's CN, an extra O, a missing O, an extra attribute", () => {
    const other = rejection(csr({ subject: nodeSubject("node-2") }), "csr_subject_forbidden");
    expect(other.message).toContain('["system:node:node-2"]');
    const masters = [...nodeSubject("node-1"), { shortName: "O", value: "system:masters" }];
    expect(rejection(csr({ subject: masters }), "csr_subject_forbidden").message).toContain("system:masters");
    rejection(csr({ subject: [{ shortName: "CN", value: "system:node:node-1" }] }), "csr_subject_forbidden");
    const withOu = [...nodeSubject("node-1"), { shortName: "OU", value: "x" }];
    expect(rejection(csr({ subject: withOu }), "csr_subject_forbidden").message).toContain("CSR subject has OU");
    const twoCns = [...nodeSubject("node-1"), { shortName: "CN", value: "system:node:node-1" }];
    rejection(csr({ subject: twoCns }), "csr_subject_forbidden");
  });

  it("csr_san_forbidden: another node's name or address, other SAN types", () => {
    const dns = rejection(csr({ extensions: [subjectAltNames(["node-1", "node-2"], [])] }), "csr_san_forbidden");
    expect(dns.message).toBe("CSR requests SAN DNS:node-2, which node node-1 may not claim");
    const ip = rejection(csr({ extensions: [subjectAltNames([], ["10.0.0.11", "10.0.0.12"])] }), "csr_san_forbidden");
    expect(ip.message).toContain("IP:10.0.0.12");
    const email = { name: "subjectAltName", altNames: [{ type: 1, value: "root@node-1" }] };
    expect(rejection(csr({ extensions: [email] }), "csr_san_forbidden").message).toContain("email SAN");
    const uri = { name: "subjectAltName", altNames: [{ type: 6, value: "spiffe://cluster/node-1" }] };
    expect(rejection(csr({ extensions: [uri] }), "csr_san_forbidden").message).toContain("URI SAN");
  });

  it("csr_san_forbidden: a DNS or IP SAN encoded as a constructed element (not a crash)", () => {
    const { asn1 } = forge;
    for (const [type, kind] of [[2, "DNS"], [7, "IP"]] as const) {
      const inner = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.IA5STRING, false, "node-1");
      const value = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, type, true, [inner])]);
      const constructed = csr({ extensions: [{ name: "subjectAltName", value }] });
      expect(rejection(constructed, "csr_san_forbidden").message).toContain(`SAN ${kind}:(malformed)`);
    }
  });

  it("csr_extension_forbidden: CA:true, unknown extensions, other attributes", () => {
    const caTrue = csr({ extensions: [{ name: "basicConstraints", cA: true }] });
    expect(rejection(caTrue, "csr_extension_forbidden").message).toContain("CA:true");
    const fromOpenssl = opensslCsr(nodeKeyFile, "/O=system:nodes/CN=system:node:node-1", [
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    ]);
    rejection(fromOpenssl, "csr_extension_forbidden");
    const unknown = { id: "1.3.6.1.4.1.99999.1", value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, "") };
    const unknownMessage = rejection(csr({ extensions: [unknown] }), "csr_extension_forbidden").message;
    expect(unknownMessage).toContain("1.3.6.1.4.1.99999.1");
    expect(unknownMessage).toContain("basicConstraints CA:false"); // tolerated, so the message lists it
    const nameConstraints = opensslCsr(nodeKeyFile, "/O=system:nodes/CN=system:node:node-1", [
      "-addext",
      "nameConstraints=permitted;DNS:.example.com",
    ]);
    expect(rejection(nameConstraints, "csr_extension_forbidden").message).toContain("nameConstraints");
    const twoSans = csr({ extensions: [subjectAltNames(["node-1"], []), subjectAltNames(["node-1"], [])] });
    expect(rejection(twoSans, "csr_extension_forbidden").message).toContain("twice");
    const password = csr({ attributes: [{ name: "challengePassword", value: "secret" }] });
    expect(rejection(password, "csr_extension_forbidden").message).toContain("challengePassword");
  });
});
