import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa } from "./ca.js";
import { certificateMatchesKey, issueCertificate } from "./certificate.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { generateRsaKeyPair } from "./keys.js";
import type { KeyPairPem } from "./keys.js";

const openssl = (args: string[], input?: string): string => execFileSync("openssl", args, { input, encoding: "utf8" });

let ca: CertificateAndKeyPem;
let leafKey: KeyPairPem;
let work: string;

beforeAll(async () => {
  [ca, leafKey] = await Promise.all([createCa("test-ca"), generateRsaKeyPair()]);
  work = mkdtempSync(join(tmpdir(), "sprout-cert-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function serverLeaf(): string {
  return issueCertificate({
    issuer: ca,
    subject: { commonName: "api", organizations: ["a", "b"] },
    publicKeyPem: leafKey.publicKeyPem,
    dnsNames: ["api.example.test", "*.apps.example.test"],
    ips: ["10.0.0.5", "fd00::5"],
    usages: ["serverAuth"],
    validityDays: 30,
  });
}

describe("createCa", () => {
  it("is a self-signed CA with pathlen 0 and CA key usages", () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=test-ca");
    expect(cert.issuer).toBe("CN=test-ca");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(certificateMatchesKey(ca.certPem, ca.keyPem)).toBe(true);
    const text = openssl(["x509", "-noout", "-text"], ca.certPem);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text).toContain("sha256WithRSAEncryption");
    expect(text).toContain("Public-Key: (2048 bit)");
    const years = (Date.parse(cert.validTo) - Date.now()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(9.99);
    expect(years).toBeLessThan(10.01);
  });
});

describe("issueCertificate", () => {
  it("issues a server leaf that node and openssl verify against the CA", () => {
    const pem = serverLeaf();
    const cert = new X509Certificate(pem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe("O=a\nO=b\nCN=api");
    expect(cert.checkHost("api.example.test")).toBe("api.example.test");
    expect(cert.checkHost("web.apps.example.test")).toBe("*.apps.example.test"); // the SAN that matched
    expect(cert.checkHost("other.example.test")).toBeUndefined();
    expect(cert.checkIP("10.0.0.5")).toBe("10.0.0.5");
    expect(cert.checkIP("fd00:0:0::5")).toBeDefined();
    expect(cert.checkIP("10.0.0.6")).toBeUndefined();
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(certificateMatchesKey(pem, leafKey.keyPem)).toBe(true);
    expect(certificateMatchesKey(pem, ca.keyPem)).toBe(false);

    const caFile = join(work, "ca.crt");
    const leafFile = join(work, "leaf.crt");
    writeFileSync(caFile, ca.certPem);
    writeFileSync(leafFile, pem);
    expect(openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver", leafFile])).toContain(": OK");
  });

  it("writes the v3 extensions a TLS stack expects of a leaf", () => {
    const pem = serverLeaf();
    const text = openssl(["x509", "-noout", "-text"], pem);
    expect(text).toContain("Version: 3 (0x2)");
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/DNS:api\.example\.test, DNS:\*\.apps\.example\.test, IP Address:10\.0\.0\.5, IP Address:FD00:0:0:0:0:0:0:5/);
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1];
    const caSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(openssl(["x509", "-noout", "-text"], ca.certPem))?.[1];
    expect(ski).toBeDefined();
    expect(caSki).toBeDefined();
    expect(ski).not.toBe(caSki);
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caSki}`));
  });

  it("uses a fresh positive 128-bit serial and back-dates notBefore by five minutes", () => {
    const before = Date.now();
    const a = new X509Certificate(serverLeaf());
    const b = new X509Certificate(serverLeaf());
    expect(a.serialNumber).not.toBe(b.serialNumber);
    // The DER INTEGER is 00 + 16 bytes with the top bit set: 128 bits of magnitude, positive.
    expect(BigInt(`0x${a.serialNumber}`).toString(2)).toHaveLength(128);
    const skewMs = before - Date.parse(a.validFrom);
    expect(skewMs).toBeGreaterThan(4 * 60_000);
    expect(skewMs).toBeLessThan(6 * 60_000);
    const days = (Date.parse(a.validTo) - before) / 86_400_000;
    expect(days).toBeGreaterThan(29.99);
    expect(days).toBeLessThan(30.01);
  });

  it("issues client-and-server leaves without SANs and refuses bad inputs", async () => {
    const pem = issueCertificate({
      issuer: ca,
      subject: { commonName: "system:node:n1", organizations: ["system:nodes"] },
      publicKeyPem: leafKey.publicKeyPem,
      usages: ["clientAuth", "serverAuth"],
      validityDays: 1,
    });
    const cert = new X509Certificate(pem);
    expect(cert.subjectAltName).toBeUndefined();
    expect([...(cert.keyUsage ?? [])].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);

    const base = { subject: { commonName: "x" }, publicKeyPem: leafKey.publicKeyPem, usages: [], validityDays: 1 };
    expect(() => issueCertificate({ ...base, issuer: ca, dnsNames: ["bad name"] })).toThrow(/not a DNS name/);
    expect(() => issueCertificate({ ...base, issuer: ca, ips: ["10.0.0.300"] })).toThrow(/not an IP address/);
    expect(() => issueCertificate({ ...base, issuer: ca, validityDays: 0 })).toThrow(/validityDays/);
    // A leaf cannot act as an issuer, and a CA certificate with someone else's key cannot sign.
    expect(() => issueCertificate({ ...base, issuer: { certPem: pem, keyPem: leafKey.keyPem } })).toThrow(/not a CA/);
    expect(() => issueCertificate({ ...base, issuer: { certPem: ca.certPem, keyPem: leafKey.keyPem } })).toThrow(/does not belong/);
    expect(() => issueCertificate({ ...base, issuer: "self", keyPem: ca.keyPem })).toThrow(/not one key pair/);
  });
});
