import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClusterSpec, type ClusterSpecInput } from "../../shared/cluster-spec.js";
import { ApiError } from "../../shared/errors.js";
import { NODE_PATHS, NodeManifest } from "../../shared/node-manifest.js";
import { StateStore } from "../state/store.js";
import { nodeRecord } from "../state/test-fixtures.js";
import { ManifestService } from "./manifest-service.js";
import { allocatePodCidr, plannedPodCidr } from "./pod-cidr.js";
import { manifestHash, renderManifestBody, type ClusterFacts } from "./render-manifest.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
/** The three CA certificates a manifest may carry; their content does not matter here. */
const CAS = { caCertPem: CA, etcdCaCertPem: CA, frontProxyCaCertPem: CA, nodes: [] as { name: string; address: string; podCidr: string }[], storageServers: [] as { name: string; address: string }[], edgeAddresses: [] as string[] };
const spec = (over: Partial<ClusterSpecInput> = {}) => ClusterSpec.parse({ name: "demo", ...over });

describe("allocatePodCidr", () => {
  it("gives a planned node the slice of its place in the spec, so clouds can route it before it boots", () => {
    expect(allocatePodCidr("10.244.0.0/16", 24, [], 5)).toEqual({ index: 5, cidr: "10.244.5.0/24" });
    expect(plannedPodCidr("10.244.0.0/16", 24, 5)).toBe("10.244.5.0/24");
    // Taken (an unplanned node joined first) or out of range: the lowest free one instead.
    expect(allocatePodCidr("10.244.0.0/16", 24, [5, 0], 5)).toEqual({ index: 1, cidr: "10.244.1.0/24" });
    expect(allocatePodCidr("10.244.0.0/23", 24, [], 7)).toEqual({ index: 0, cidr: "10.244.0.0/24" });
    // A node the spec does not name starts after the planned slots.
    expect(allocatePodCidr("10.244.0.0/16", 24, [0], undefined, 3)).toEqual({ index: 3, cidr: "10.244.3.0/24" });
  });

  it("hands out the lowest free /24 first", () => {
    expect(allocatePodCidr("10.244.0.0/16", 24, [])).toEqual({ index: 0, cidr: "10.244.0.0/24" });
    expect(allocatePodCidr("10.244.0.0/16", 24, [0, 1, 3])).toEqual({ index: 2, cidr: "10.244.2.0/24" });
    expect(allocatePodCidr("10.244.0.0/16", 24, new Set([1, 2]))).toEqual({ index: 0, cidr: "10.244.0.0/24" });
    expect(allocatePodCidr("10.244.0.0/16", 26, [0])).toEqual({ index: 1, cidr: "10.244.0.64/26" });
  });

  it("allocating one after another gives distinct subnets", () => {
    const used: number[] = [];
    const cidrs = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const a = allocatePodCidr("10.244.0.0/18", 24, used);
      used.push(a.index);
      cidrs.add(a.cidr);
    }
    expect(cidrs.size).toBe(64);
    expect(used).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it("fails with pod_cidr_exhausted when every slice is taken", () => {
    const full = Array.from({ length: 4 }, (_, i) => i);
    let err: unknown;
    try {
      allocatePodCidr("10.244.0.0/22", 24, full);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("pod_cidr_exhausted");
    expect((err as ApiError).status).toBe(409);
    expect(allocatePodCidr("10.244.0.0/22", 24, [0, 1, 3]).cidr).toBe("10.244.2.0/24");
  });

  it("refuses an invalid pod CIDR", () => {
    expect(() => allocatePodCidr("10.244.1.0/16", 24, [])).toThrow(/invalid pod CIDR/);
  });
});

describe("renderManifestBody", () => {
  const worker = nodeRecord("svc-1", { roles: ["service"], addresses: ["10.240.0.11"], podCidr: "10.244.1.0/24", podCidrIndex: 1 });
  const master = nodeRecord("master-1", { roles: ["master", "edge"], addresses: ["10.240.0.10"], podCidr: "10.244.0.0/24" });
  const facts: ClusterFacts = { ...CAS, apiServerEndpoint: "https://10.240.0.10:6443" };

  it("validates against NodeManifest once a revision is added", () => {
    for (const node of [worker, master]) {
      for (const f of [facts, { ...CAS }]) {
        const body = renderManifestBody(spec(), node, f);
        const parsed = NodeManifest.safeParse({ ...body, revision: 1 });
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      }
    }
  });

  it("puts cluster DNS at the 10th address of the service CIDR", () => {
    expect(renderManifestBody(spec(), worker, facts).cluster.dnsServiceIp).toBe("10.96.0.10");
    const custom = spec({ networks: { serviceCidr: "172.20.0.0/16" } });
    expect(renderManifestBody(custom, worker, facts).cluster.dnsServiceIp).toBe("172.20.0.10");
  });

  it("carries the node's own identity and the cluster's networks", () => {
    const body = renderManifestBody(spec(), worker, facts);
    expect(body.node).toEqual({ name: "svc-1", roles: ["service"], addresses: ["10.240.0.11"], podCidr: "10.244.1.0/24" });
    expect(body.cluster).toMatchObject({ name: "demo", kubernetesVersion: "1.20.2", podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local", apiServerEndpoint: "https://10.240.0.10:6443" });
    expect(body.containerd.sandboxImage).toBe("registry.k8s.io/pause:3.2");
    expect(renderManifestBody(spec({ kubernetesVersion: "1.31.0" }), worker, facts).containerd.sandboxImage).toBe("registry.k8s.io/pause:3.10");
  });

  it("writes the kubelet kubeconfig only once an API server endpoint is known", () => {
    const without = renderManifestBody(spec(), worker, { ...CAS });
    expect(without.files.map((f) => f.path)).toEqual([`${NODE_PATHS.kubePki}/ca.crt`]);
    expect(without.files[0]).toEqual({ path: "/etc/kubernetes/pki/ca.crt", content: CA, mode: 0o644 });
    expect(without.cluster.apiServerEndpoint).toBeUndefined();

    const withEndpoint = renderManifestBody(spec(), worker, facts);
    const kubeconfig = withEndpoint.files.find((f) => f.path === NODE_PATHS.kubeletKubeconfig);
    expect(kubeconfig).toBeDefined();
    expect(kubeconfig!.mode).toBe(0o600);
    const parsed = parseYaml(kubeconfig!.content) as {
      clusters: { cluster: Record<string, string> }[];
      users: { name: string; user: Record<string, string> }[];
      "current-context": string;
    };
    expect(parsed.clusters[0]!.cluster).toEqual({ server: "https://10.240.0.10:6443", "certificate-authority": "/etc/kubernetes/pki/ca.crt" });
    expect(parsed.users[0]).toEqual({ name: "system:node:svc-1", user: { "client-certificate": NODE_PATHS.nodeCert, "client-key": NODE_PATHS.nodeKey } });
    expect(parsed["current-context"]).toBe("system:node:svc-1@demo");
    // The node key stays on the node: nothing in the manifest embeds key material.
    expect(JSON.stringify(withEndpoint)).not.toMatch(/PRIVATE KEY|client-key-data/);
  });

  it("labels nodes with labels the kubelet accepts for itself", () => {
    const labels = renderManifestBody(spec(), master, facts).kubelet.nodeLabels;
    expect(labels).toEqual({ "sprout.dev/role-master": "", "sprout.dev/role-edge": "", "sprout.dev/cluster": "demo" });
    // Since 1.16 a kubelet exits when --node-labels holds kubernetes.io labels outside this set.
    const allowed = /^(kubelet\.kubernetes\.io\/|node\.kubernetes\.io\/)|^(kubernetes\.io\/(arch|os|hostname)|topology\.kubernetes\.io\/(region|zone))$/;
    for (const key of Object.keys(labels)) {
      const reserved = /(^|\.)(kubernetes|k8s)\.io\//.test(key);
      expect(!reserved || allowed.test(key), key).toBe(true);
    }
  });

  it("taints masters only when other nodes can take the workloads", () => {
    expect(renderManifestBody(spec(), master, facts).kubelet.registerWithTaints).toEqual([{ key: "node-role.kubernetes.io/master", effect: "NoSchedule" }]);
    expect(renderManifestBody(spec(), worker, facts).kubelet.registerWithTaints).toEqual([]);
    const alone = spec({ nodeGroups: [{ name: "m", roles: ["master"], count: 1 }, { name: "s", roles: ["service"], count: 0 }] });
    expect(renderManifestBody(alone, master, facts).kubelet.registerWithTaints).toEqual([]);
    // kubeadm's key for the minor: `control-plane` since 1.24.
    for (const v of ["1.30.4", "1.31.0", "1.33.0"]) {
      expect(renderManifestBody(spec({ kubernetesVersion: v }), master, facts).kubelet.registerWithTaints).toEqual([{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);
    }
  });

  it("gives an egress proxy a NO_PROXY covering the cluster's own networks and names", () => {
    expect(renderManifestBody(spec(), worker, facts).egressProxy).toBeUndefined();
    const proxied = spec({
      networks: { clusterDomain: "k8s.example" },
      egressProxy: { httpProxy: "http://proxy:3128", httpsProxy: "http://proxy:3129", noProxy: ["internal.example", "10.240.0.0/24"] },
    });
    const p = renderManifestBody(proxied, worker, facts).egressProxy!;
    expect(p.httpProxy).toBe("http://proxy:3128");
    expect(p.httpsProxy).toBe("http://proxy:3129");
    const entries = p.noProxy.split(",");
    for (const want of ["localhost", "127.0.0.1", "10.244.0.0/16", "10.96.0.0/12", "10.240.0.0/24", ".svc", ".k8s.example", "svc-1", "10.240.0.11", "internal.example"]) {
      expect(entries, want).toContain(want);
    }
    expect(new Set(entries).size).toBe(entries.length); // the user's duplicate of nodeCidr appears once
  });

  it("hashes equal bodies equally and different bodies differently", () => {
    const a = renderManifestBody(spec(), worker, facts);
    expect(manifestHash(a)).toBe(manifestHash(renderManifestBody(spec(), worker, facts)));
    expect(manifestHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifestHash(a)).not.toBe(manifestHash(renderManifestBody(spec(), worker, { ...CAS })));
  });
});

describe("ManifestService", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sprout-manifest-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("bumps the revision only when the content changes, and persists it", async () => {
    const store = await StateStore.open(dir);
    await store.putNode(nodeRecord("svc-1"));
    let facts: ClusterFacts = { ...CAS };
    const service = new ManifestService(spec(), store, () => facts);

    const first = await service.current("svc-1");
    expect(first.revision).toBe(1);
    expect(NodeManifest.safeParse(first).success).toBe(true);
    expect((await service.current("svc-1")).revision).toBe(1);
    expect(await service.current("svc-1")).toEqual(first);

    facts = { ...CAS, apiServerEndpoint: "https://10.240.0.10:6443" };
    const second = await service.current("svc-1");
    expect(second.revision).toBe(2);
    expect(second.cluster.apiServerEndpoint).toBe("https://10.240.0.10:6443");
    expect((await service.current("svc-1")).revision).toBe(2);

    // A restarted coordinator renders the same content and keeps the number.
    const reopened = await StateStore.open(dir);
    const { revision: _revision, ...secondBody } = second;
    expect(reopened.getNode("svc-1")).toMatchObject({ manifestRevision: 2, manifestHash: manifestHash(secondBody) });
    const again = new ManifestService(spec(), reopened, () => facts);
    expect((await again.current("svc-1")).revision).toBe(2);
    facts = { ...CAS, apiServerEndpoint: "https://10.240.0.99:6443" };
    expect((await again.current("svc-1")).revision).toBe(3);
    expect((await StateStore.open(dir)).getNode("svc-1")!.manifestRevision).toBe(3);
  });

  it("gives concurrent callers one revision for one change", async () => {
    const store = await StateStore.open(dir);
    await store.putNode(nodeRecord("svc-1"));
    const service = new ManifestService(spec(), store, () => ({ ...CAS }));
    const revisions = await Promise.all(Array.from({ length: 10 }, () => service.current("svc-1")));
    expect(new Set(revisions.map((m) => m.revision))).toEqual(new Set([1]));
  });

  it("refuses a node that has not joined", async () => {
    const store = await StateStore.open(dir);
    const service = new ManifestService(spec(), store, () => ({ ...CAS }));
    await expect(service.current("ghost")).rejects.toMatchObject({ code: "node_unknown", status: 404 });
  });
});
