import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../shared/errors.js";
import { loadOrCreateClusterPki, type ClusterPki } from "./cluster-pki.js";
import { buildCsrPem, subjectAltNames, tamperSignature } from "./csr-fixture.js";
import { generateRsaKeyPair, type KeyPairPem } from "./keys.js";
import { signProfileCertificate } from "./profile-cert.js";

describe("profile certificates", () => {
  let dir: string;
  let pki: ClusterPki;
  let key: KeyPairPem;
  let csr: string;
  const master = { name: "master-1", addresses: ["10.240.0.10"], roles: ["master" as const] };
  const worker = { name: "service-1", addresses: ["10.240.0.11"], roles: ["service" as const] };
  const cluster = { serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local" };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sprout-profile-"));
    pki = await loadOrCreateClusterPki(dir);
    key = await generateRsaKeyPair();
    // The request asks for far more than it may have; the profile decides what is issued.
    csr = buildCsrPem({ keyPem: key.keyPem, publicKeyPem: key.publicKeyPem, subject: [{ shortName: "CN", value: "admin" }, { shortName: "O", value: "system:masters" }], extensions: [subjectAltNames(["evil.example"], ["1.2.3.4"])] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("issues the API server's serving certificate with the in-cluster names and the Service IP", () => {
    const { certificate, caCertificate } = signProfileCertificate(pki, { profile: "kube-apiserver", csr }, master, cluster);
    const cert = new X509Certificate(certificate);
    expect(caCertificate).toBe(pki.caCertPem);
    expect(cert.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    expect(cert.subject).toBe("CN=kube-apiserver");
    for (const name of ["kubernetes", "kubernetes.default.svc.cluster.local", "master-1"]) expect(cert.checkHost(name)).toBe(name);
    for (const ip of ["10.96.0.1", "10.240.0.10", "127.0.0.1"]) expect(cert.checkIP(ip)).toBe(ip);
    expect(cert.checkHost("evil.example")).toBeUndefined();
    expect(cert.checkIP("1.2.3.4")).toBeUndefined();
    expect(cert.publicKey.export({ type: "spki", format: "pem" })).toBe(key.publicKeyPem);
  });

  it("signs etcd and front-proxy profiles with their own CAs", () => {
    const etcd = signProfileCertificate(pki, { profile: "etcd-server", csr }, master, cluster);
    expect(etcd.caCertificate).toBe(pki.etcdCa.certPem);
    expect(new X509Certificate(etcd.certificate).verify(new X509Certificate(pki.etcdCa.certPem).publicKey)).toBe(true);
    const proxy = signProfileCertificate(pki, { profile: "front-proxy-client", csr }, master, cluster);
    expect(proxy.caCertificate).toBe(pki.frontProxyCa.certPem);
  });

  it("gives kube-proxy to every node but control-plane identities only to masters", () => {
    const proxy = new X509Certificate(signProfileCertificate(pki, { profile: "kube-proxy", csr }, worker, cluster).certificate);
    expect(proxy.subject).toBe("CN=system:kube-proxy");
    let err: unknown;
    try {
      signProfileCertificate(pki, { profile: "master-admin", csr }, worker, cluster);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("profile_forbidden");
  });

  it("refuses a request whose signature does not prove possession of the key", () => {
    expect(() => signProfileCertificate(pki, { profile: "kube-proxy", csr: tamperSignature(csr) }, worker, cluster)).toThrow(/signature/);
  });
});
