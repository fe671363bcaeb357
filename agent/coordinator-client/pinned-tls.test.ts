import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateClusterPki, issueServingCertificate, type ClusterPki } from "../../coordinator/pki/cluster-pki.js";
import { issueCertificate } from "../../coordinator/pki/certificate.js";
import { generateRsaKeyPair } from "../../coordinator/pki/keys.js";
import { mtlsAgent, pinnedAgent } from "./pinned-tls.js";

/** Real TLS servers on loopback: the genuine coordinator, and a joined node posing as it. */
describe("pinned TLS to the coordinator", () => {
  let dir: string;
  let pki: ClusterPki;
  let genuine: Server;
  let impostor: Server;
  let nodeCert: { certPem: string; keyPem: string };
  const url = (s: Server) => `https://127.0.0.1:${(s.address() as AddressInfo).port}/`;

  const serve = (cert: string, key: string) =>
    new Promise<Server>((resolve) => {
      const s = createServer({ cert, key }, (_req, res) => res.end("ok"));
      s.listen(0, "127.0.0.1", () => resolve(s));
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sprout-pin-"));
    pki = await loadOrCreateClusterPki(dir);
    const serving = await issueServingCertificate(pki, { dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    genuine = await serve(serving.certPem, serving.keyPem);
    // What a node holding a join token could obtain: CA-signed, valid for an address it claimed.
    const key = await generateRsaKeyPair();
    const leaf = issueCertificate({ issuer: pki.ca, subject: { commonName: "system:node:evil", organizations: ["system:nodes"] }, publicKeyPem: key.publicKeyPem, ips: ["127.0.0.1"], usages: ["serverAuth", "clientAuth"], validityDays: 1 });
    nodeCert = { certPem: leaf, keyPem: key.keyPem };
    impostor = await serve(leaf + pki.caCertPem, key.keyPem);
  });

  afterAll(async () => {
    genuine?.close();
    impostor?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts the coordinator on every new connection (no session resumption without a chain)", async () => {
    const agent = pinnedAgent(pki.caPin);
    for (let i = 0; i < 3; i++) {
      const res = await request(url(genuine), { dispatcher: agent, reset: true });
      expect(await res.body.text()).toBe("ok");
    }
    await agent.close();
  });

  it("refuses a node certificate posing as the coordinator, though it is CA-signed and valid for the address", async () => {
    const agent = pinnedAgent(pki.caPin);
    await expect(request(url(impostor), { dispatcher: agent })).rejects.toThrow(/is not the coordinator/);
    await agent.close();
  });

  it("refuses a coordinator signed by another CA", async () => {
    const agent = pinnedAgent(`sha256:${"0".repeat(64)}`);
    await expect(request(url(genuine), { dispatcher: agent })).rejects.toThrow(/not signed by the pinned CA/);
    await agent.close();
  });

  it("mTLS clients refuse the impostor too", async () => {
    const agent = mtlsAgent({ caPem: pki.caCertPem, ...nodeCert });
    await expect(request(url(impostor), { dispatcher: agent })).rejects.toThrow(/not the coordinator/);
    const ok = await request(url(genuine), { dispatcher: agent });
    expect(await ok.body.text()).toBe("ok");
    await agent.close();
  });
});
