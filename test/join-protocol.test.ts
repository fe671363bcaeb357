import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeManifest } from "../shared/node-manifest.js";
import { AGENT_BUNDLE, TestCluster, run } from "./support/harness.js";

/**
 * The join protocol end to end: a real coordinator process over TLS and 20 agent processes,
 * each in its own network namespace with its own address, started together.
 */
describe("join protocol: 20 agents against a real coordinator", () => {
  let cluster: TestCluster;
  const groups = [
    { name: "master", roles: ["master", "edge"] as const, count: 1 },
    { name: "service", roles: ["service"] as const, count: 13 },
    { name: "storage", roles: ["storage"] as const, count: 6 },
  ];
  let exits: { code: number; stderr: string }[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.create(groups.map((g) => ({ ...g, roles: [...g.roles] })));
    await cluster.startCoordinator();
    const tokens = new Map<string, string>();
    for (const g of groups) tokens.set(g.name, await cluster.createToken([...g.roles], g.count));
    for (const node of cluster.nodes) await cluster.prepareNode(node, { token: tokens.get(node.group)! });
    const runs = cluster.nodes.map((node) => cluster.startAgent(node));
    exits = await Promise.all(runs.map((r) => r.exited));
  }, 240_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("every agent converges and exits 0", () => {
    const failures = exits.map((e, i) => ({ node: cluster.nodes[i]!.name, ...e })).filter((e) => e.code !== 0);
    expect(failures).toEqual([]);
  });

  it("each node holds a distinct certificate signed by the cluster CA with its own subject and SANs", async () => {
    const ca = new X509Certificate(await cluster.caCert());
    const serials = new Set<string>();
    for (const node of cluster.nodes) {
      const root = cluster.nodeRoot(node.name);
      const cert = new X509Certificate(await readFile(join(root, "var/lib/sprout/pki/node.crt")));
      const address = cluster.network.nodes.find((n) => n.name === node.name)!.address;
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.subject).toContain(`CN=system:node:${node.name}`);
      expect(cert.subject).toContain("O=system:nodes");
      expect(cert.subjectAltName).toBe(`DNS:${node.name}, IP Address:${address}`);
      expect(cert.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.2"])); // clientAuth
      serials.add(cert.serialNumber);
      // The key was generated on the node, is private to it, and matches the certificate.
      const keyPath = join(root, "var/lib/sprout/pki/node.key");
      const key = await readFile(keyPath, "utf8");
      expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
      expect(cert.publicKey.export({ type: "spki", format: "der" }).equals(createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "der" }))).toBe(true);
    }
    expect(serials.size).toBe(cluster.nodes.length);
  });

  it("node private keys never reach the coordinator's state", async () => {
    const keys = await Promise.all(cluster.nodes.map((n) => readFile(join(cluster.nodeRoot(n.name), "var/lib/sprout/pki/node.key"), "utf8")));
    const bodies = keys.map((k) => k.split("\n").slice(1, 3).join(""));
    for (const sub of ["nodes", "tokens", "events"]) {
      for (const f of await readdir(join(cluster.stateDir, sub))) {
        const text = (await readFile(join(cluster.stateDir, sub, f), "utf8")).replace(/\\n|\n/g, "");
        for (const b of bodies) expect(text.includes(b)).toBe(false);
      }
    }
  });

  it("serves a node its manifest over mTLS, and only with its certificate", async () => {
    const node = cluster.nodes[3]!;
    const root = cluster.nodeRoot(node.name);
    const [ca, cert, key] = await Promise.all(["ca.crt", "node.crt", "node.key"].map((f) => readFile(join(root, "var/lib/sprout/pki", f), "utf8")));
    const withCert = new Agent({ connect: { ca, cert, key } });
    const res = await request(`${cluster.url}/v1/manifest`, { dispatcher: withCert });
    expect(res.statusCode).toBe(200);
    const manifest = NodeManifest.parse(await res.body.json());
    expect(manifest.node.name).toBe(node.name);
    expect(manifest.node.roles).toEqual(node.roles);
    const master = cluster.network.nodes.find((n) => n.name === "master-1")!;
    expect(manifest.cluster.apiServerEndpoint).toBe(`https://${master.address}:6443`);
    await withCert.close();

    const anonymous = new Agent({ connect: { ca } });
    const denied = await request(`${cluster.url}/v1/manifest`, { dispatcher: anonymous });
    expect(denied.statusCode).toBe(401);
    expect(((await denied.body.json()) as { error: { code: string } }).error.code).toBe("client_certificate_required");
    await anonymous.close();
  });

  it("gives every node its own pod CIDR and applies its manifest to the node root", async () => {
    const cidrs = new Set<string>();
    for (const node of cluster.nodes) {
      const kubelet = await readFile(join(cluster.nodeRoot(node.name), "var/lib/kubelet/config.yaml"), "utf8");
      const podCidr = /podCIDR: (\S+)/.exec(kubelet)?.[1];
      expect(podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      cidrs.add(podCidr!);
      const kubeconfig = await readFile(join(cluster.nodeRoot(node.name), "etc/kubernetes/kubelet.conf"), "utf8");
      expect(kubeconfig).toContain(`system:node:${node.name}`);
      const containerd = await readFile(join(cluster.nodeRoot(node.name), "etc/containerd/config.toml"), "utf8");
      expect(containerd).toContain("SystemdCgroup = true");
    }
    expect(cidrs.size).toBe(cluster.nodes.length);
  });

  it("nodes hold coordinator-signed identities for kube-proxy, and the master for its control plane", async () => {
    const ca = new X509Certificate(await cluster.caCert());
    for (const node of cluster.nodes) {
      const pki = join(cluster.nodeRoot(node.name), "etc/kubernetes/pki");
      const proxy = new X509Certificate(await readFile(join(pki, "kube-proxy.crt")));
      expect(proxy.subject).toBe("CN=system:kube-proxy");
      expect(proxy.verify(ca.publicKey)).toBe(true);
      const hasApiserver = await stat(join(pki, "apiserver.crt")).then(() => true, () => false);
      expect(hasApiserver).toBe(node.roles.includes("master"));
    }
    const master = cluster.network.nodes.find((n) => n.name === "master-1")!;
    const apiserver = new X509Certificate(await readFile(join(cluster.nodeRoot("master-1"), "etc/kubernetes/pki/apiserver.crt")));
    expect(apiserver.checkIP(master.address)).toBe(master.address);
    expect(apiserver.checkHost("kubernetes.default.svc.cluster.local")).toBeDefined();
  });

  it("the coordinator's timeline shows every node's phases and steps", async () => {
    const status = await cluster.status();
    expect(status.nodes.map((n) => n.name).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    for (const n of status.nodes) {
      expect(n.phase).toBe("converged");
      const names = n.timeline.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["join", "bootstrap", "step:kubelet/config", "step:containerd/service"]));
      expect(names.some((x) => x.startsWith("configure r"))).toBe(true);
      for (const t of n.timeline.filter((t) => t.name.startsWith("step:"))) expect(t.status).toBe("finished");
      if (!n.roles.includes("master")) expect(names).toContain("step:kubelet/wait-apiserver");
    }
    const csv = await cluster.cli(["status", cluster.dir, "-o", "csv"]);
    expect(csv.stdout.split("\n")[0]).toBe("node,entry,status,startedAt,finishedAt,durationMs,detail");
    expect(csv.stdout).toContain("master-1,join,finished");
  });

  it("each token was used exactly by its group's nodes", async () => {
    const tokens = await cluster.tokens();
    for (const g of groups) {
      const token = tokens.find((t) => t.roles.join() === g.roles.join())!;
      expect(token.usedBy.sort()).toEqual(cluster.nodes.filter((n) => n.group === g.name).map((n) => n.name).sort());
    }
  });

  it("re-running an agent on a configured node changes nothing and needs no token", async () => {
    const node = cluster.nodes[5]!;
    const before = await cluster.tokens();
    const rerun = await cluster.startAgent(node).exited;
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain("already joined");
    expect(rerun.stderr).toMatch(/"changed":0,"failed":0/);
    expect(await cluster.tokens()).toEqual(before);
  });

  it("`sprout-agent plan` reports a converged node as unchanged, asking the coordinator over mTLS", async () => {
    const node = cluster.nodes[7]!;
    const netns = cluster.network.nodes.find((n) => n.name === node.name)!.netns;
    const r = await run("ip", ["netns", "exec", netns, process.execPath, AGENT_BUNDLE, "plan", "--root", cluster.nodeRoot(node.name)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/= kubelet\/config/);
    expect(r.stdout).not.toMatch(/^~ /m);
  });

  it("`sprout-agent plan --manifest` lists what it would change and changes nothing", async () => {
    const node = cluster.nodes[8]!;
    const [ca, cert, key] = await Promise.all(["ca.crt", "node.crt", "node.key"].map((f) => readFile(join(cluster.nodeRoot(node.name), "var/lib/sprout/pki", f), "utf8")));
    const withCert = new Agent({ connect: { ca, cert, key } });
    const manifest = await (await request(`${cluster.url}/v1/manifest`, { dispatcher: withCert })).body.text();
    await withCert.close();
    const empty = await mkdtemp(join(tmpdir(), "sprout-plan-"));
    try {
      await writeFile(join(empty, "manifest.json"), manifest);
      const r = await run(process.execPath, [AGENT_BUNDLE, "plan", "--root", join(empty, "root"), "--manifest", join(empty, "manifest.json")]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/~ kubelet\/config/);
      expect(r.stdout).toContain("/var/lib/kubelet/config.yaml");
      expect(await readdir(empty)).toEqual(["manifest.json"]); // no root was created
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("exposes Prometheus metrics", async () => {
    const ca = await cluster.caCert();
    const agent = new Agent({ connect: { ca } });
    const res = await request(`${cluster.url}/metrics`, { dispatcher: agent });
    const text = await res.body.text();
    expect(text).toContain(`sprout_joins_total{result="ok"} ${cluster.nodes.length}`);
    expect(text).toContain(`sprout_nodes{phase="converged"} ${cluster.nodes.length}`);
    await agent.close();
  });
});
