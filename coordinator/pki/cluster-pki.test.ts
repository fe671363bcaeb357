import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:tls";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../shared/errors.js";
import { issueCertificate } from "./certificate.js";
import { issueClientCertificate, issueServingCertificate, loadOrCreateClusterPki, PKI_FILES } from "./cluster-pki.js";
import { generateRsaKeyPair } from "./keys.js";

const dirs: string[] = [];
function freshDir(): string {
  const parent = mkdtempSync(join(tmpdir(), "sprout-pki-"));
  dirs.push(parent);
  return join(parent, "pki");
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;
const read = (dir: string, name: keyof typeof PKI_FILES): string => readFileSync(join(dir, PKI_FILES[name]), "utf8");

describe("loadOrCreateClusterPki", () => {
  it("creates the kubeadm layout with private modes", async () => {
    const dir = freshDir();
    const pki = await loadOrCreateClusterPki(dir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "etcd"))).toBe(0o700);
    for (const [name, file] of Object.entries(PKI_FILES)) {
      expect(mode(join(dir, file)), file).toBe(/\.key$/.test(file) ? 0o600 : 0o644);
      expect(readFileSync(join(dir, file), "utf8"), name).toMatch(/^-----BEGIN /);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(new X509Certificate(pki.ca.certPem).subject).toBe("CN=kubernetes");
    expect(new X509Certificate(pki.etcdCa.certPem).subject).toBe("CN=etcd-ca");
    expect(new X509Certificate(pki.frontProxyCa.certPem).subject).toBe("CN=front-proxy-ca");
    for (const ca of [pki.ca, pki.etcdCa, pki.frontProxyCa]) expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(pki.caCertPem).toBe(pki.ca.certPem);
    expect(pki.ca.keyPem).toBe(read(dir, "caKey"));
    expect(pki.serviceAccount.publicKeyPem).toBe(read(dir, "serviceAccountPublicKey"));
    // Four distinct keys.
    expect(new Set([pki.ca.keyPem, pki.etcdCa.keyPem, pki.frontProxyCa.keyPem, pki.serviceAccount.keyPem]).size).toBe(4);
  });

  it("loads what exists on the second call: same PEMs, same caPin", async () => {
    const dir = freshDir();
    const first = await loadOrCreateClusterPki(dir);
    const second = await loadOrCreateClusterPki(dir);
    expect(second).toEqual(first);
    expect(second.caPin).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("computes the caPin the way kubeadm documents it with openssl", async () => {
    const pki = await loadOrCreateClusterPki(freshDir());
    const hex = execFileSync(
      "sh",
      ["-c", "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1"],
      { input: pki.ca.certPem, encoding: "utf8" },
    ).trim();
    expect(pki.caPin).toBe(`sha256:${hex}`);
  });

  it("refuses a certificate whose key is someone else's, naming the files", async () => {
    const dir = freshDir();
    await loadOrCreateClusterPki(dir);
    writeFileSync(join(dir, "ca.key"), read(dir, "etcdCaKey"));
    const err = await loadOrCreateClusterPki(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`${join(dir, "ca.key")} is not the private key of ${join(dir, "ca.crt")}; restore the matching pair`);
  });

  it("refuses a mismatched service-account pair", async () => {
    const dir = freshDir();
    await loadOrCreateClusterPki(dir);
    writeFileSync(join(dir, "sa.pub"), (await generateRsaKeyPair()).publicKeyPem);
    await expect(loadOrCreateClusterPki(dir)).rejects.toThrow(`${join(dir, "sa.key")} is not the private key of ${join(dir, "sa.pub")}`);
  });

  it("never regenerates a missing key next to an existing certificate or public key", async () => {
    const dir = freshDir();
    await loadOrCreateClusterPki(dir);
    rmSync(join(dir, "front-proxy-ca.key"));
    await expect(loadOrCreateClusterPki(dir)).rejects.toThrow(
      new RegExp(`${join(dir, "front-proxy-ca.crt")} exists but its private key ${join(dir, "front-proxy-ca.key")} is missing`),
    );
    expect(() => statSync(join(dir, "front-proxy-ca.key"))).toThrow(/ENOENT/);

    const dir2 = freshDir();
    await loadOrCreateClusterPki(dir2);
    rmSync(join(dir2, "sa.key"));
    await expect(loadOrCreateClusterPki(dir2)).rejects.toThrow(/sa\.pub exists but its private key .*sa\.key is missing/);
  });

  it("names an unreadable file instead of failing in the PEM decoder", async () => {
    const dir = freshDir();
    await loadOrCreateClusterPki(dir);
    writeFileSync(join(dir, "etcd", "ca.crt"), "not a certificate\n");
    await expect(loadOrCreateClusterPki(dir)).rejects.toThrow(`${join(dir, "etcd", "ca.crt")} is not a valid PEM file`);
  });

  it("after a crash, creates only the missing pairs and keeps the rest", async () => {
    const dir = freshDir();
    const first = await loadOrCreateClusterPki(dir);
    rmSync(join(dir, "etcd"), { recursive: true }); // a whole pair never written
    rmSync(join(dir, "sa.pub")); // crash between sa.key and sa.pub
    const second = await loadOrCreateClusterPki(dir);
    expect(second.ca).toEqual(first.ca);
    expect(second.frontProxyCa).toEqual(first.frontProxyCa);
    expect(second.serviceAccount).toEqual(first.serviceAccount); // sa.pub re-derived from sa.key
    expect(second.etcdCa.keyPem).not.toBe(first.etcdCa.keyPem);
    expect(mode(join(dir, "etcd"))).toBe(0o700);
    expect(mode(join(dir, "etcd", "ca.key"))).toBe(0o600);
  });

  it("re-creates a lost CA certificate from its key, so the pin and issued certificates survive", async () => {
    const dir = freshDir();
    const first = await loadOrCreateClusterPki(dir);
    const node = await generateRsaKeyPair();
    const leaf = issueCertificate({
      issuer: first.ca,
      subject: { commonName: "n" },
      publicKeyPem: node.publicKeyPem,
      usages: ["clientAuth"],
      validityDays: 1,
    });
    rmSync(join(dir, "ca.crt"));
    const second = await loadOrCreateClusterPki(dir);
    expect(second.ca.certPem).not.toBe(first.ca.certPem);
    expect(second.caPin).toBe(first.caPin);
    const newCa = new X509Certificate(second.ca.certPem);
    expect(new X509Certificate(leaf).verify(newCa.publicKey)).toBe(true);
    expect(new X509Certificate(leaf).checkIssued(newCa)).toBe(true);
  });

  it("tightens an existing directory to 0700", async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    await loadOrCreateClusterPki(dir);
    expect(mode(dir)).toBe(0o700);
  });
});

describe("coordinator certificates", () => {
  it("serves TLS that pins to the CA and accepts the admin client certificate", async () => {
    const pki = await loadOrCreateClusterPki(freshDir());
    const serving = await issueServingCertificate(pki, { dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    const admin = await issueClientCertificate(pki, { commonName: "sprout-admin", organizations: ["system:masters"] });

    // The chain: leaf, then the CA, so a client holding only the pin can find the CA's key.
    const [leafPem, caPem] = serving.certPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    expect(caPem).toBe(pki.ca.certPem);
    const leaf = new X509Certificate(leafPem ?? "");
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    const adminCert = new X509Certificate(admin.certPem);
    expect(adminCert.subject).toBe("O=system:masters\nCN=sprout-admin");
    expect(adminCert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(adminCert.verify(new X509Certificate(pki.ca.certPem).publicKey)).toBe(true);

    const server = createServer(
      { cert: serving.certPem, key: serving.keyPem, ca: [pki.caCertPem], requestCert: true, rejectUnauthorized: true },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(`${socket.authorized ? "authorized" : "unauthorized"} ${peer.subject.CN}`);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket: TLSSocket = connect({
          host: "127.0.0.1",
          port,
          servername: "localhost",
          ca: [pki.caCertPem],
          cert: admin.certPem,
          key: admin.keyPem,
        });
        let data = "";
        socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
      expect(reply).toBe("authorized sprout-admin");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
