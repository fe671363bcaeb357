import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ClusterSpec, durationMs, planNodes, roleCounts } from "./cluster-spec.js";
import { UserError, ValidationError } from "./errors.js";
import { formatPath, parseJsonWith, parseYamlWith } from "./validate.js";

/** Parses and returns the ValidationError's problems (fails the test if parsing succeeds). */
function problemsOf(text: string): ValidationError["problems"] {
  try {
    parseYamlWith(ClusterSpec, text, "cluster.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.where).toBe("cluster.yaml");
    return v.problems;
  }
  throw new Error(`expected cluster.yaml to be rejected:\n${text}`);
}

const masterAndStorage = (storageCount: number, replication: number) =>
  [
    "name: demo",
    "nodeGroups:",
    "  - name: master",
    "    roles: [master]",
    "    count: 1",
    "  - name: storage",
    "    roles: [storage]",
    `    count: ${storageCount}`,
    "storage:",
    `  replication: ${replication}`,
    "",
  ].join("\n");

describe("parseYamlWith(ClusterSpec)", () => {
  it("fills every default for the smallest file, `name: demo`", () => {
    const spec = parseYamlWith(ClusterSpec, "name: demo\n", "cluster.yaml");
    expect(spec.name).toBe("demo");
    expect(spec.apiVersion).toBe("sprout.dev/v1alpha1");
    expect(spec.kind).toBe("Cluster");
    expect(spec.kubernetesVersion).toBe("1.20.2");
    expect(spec.provider).toEqual({ type: "local" });
    expect(spec.nodeGroups).toEqual([
      { name: "master", roles: ["master", "edge"], count: 1 },
      { name: "service", roles: ["service"], count: 2 },
    ]);
    expect(roleCounts(spec)).toEqual({ master: 1, edge: 1, service: 2 });
    expect(spec.networks).toEqual({
      nodeCidr: "10.240.0.0/24",
      podCidr: "10.244.0.0/16",
      podCidrMaskSize: 24,
      serviceCidr: "10.96.0.0/12",
      clusterDomain: "cluster.local",
    });
    expect(spec.storage).toEqual({ replication: 1, volumeSizeGiB: 10, device: "/dev/vdb", volumeName: "sprout-shared", mountPath: "/mnt/sprout-shared" });
    expect(spec.coordinator.listen).toBe("127.0.0.1:7443");
    expect(spec.coordinator.joinRateLimit).toEqual({ perSecond: 50, burst: 200 });
    expect(spec.coordinator.tokenTtl).toBe("2h");
    expect(spec.egressProxy).toBeUndefined();
    expect(spec.dns).toEqual({ upstreams: [] });
    expect(spec.edge.loadBalancerPorts).toBe("1024-29999");
  });

  it("refuses a DNS upstream that is not an address, and a LoadBalancer port range that is not one", () => {
    expect(problemsOf("name: demo\ndns:\n  upstreams: [dns.example.org]\n")[0]).toMatchObject({ path: "dns.upstreams[0]", line: 3, message: "must be an IPv4 address" });
    expect(problemsOf("name: demo\nedge:\n  loadBalancerPorts: 30000-1024\n")[0]).toMatchObject({ path: "edge.loadBalancerPorts", line: 3, message: "must be FROM-TO with 1 <= FROM <= TO <= 65535" });
    expect(problemsOf("name: demo\nedge:\n  loadBalancerPorts: \"8080\"\n")[0]).toMatchObject({ path: "edge.loadBalancerPorts", message: "must be a port range FROM-TO, like 1024-29999" });
  });

  it("edge.dns needs a base domain and a cloud (and on Azure the zone's resource group)", () => {
    const noBase = problemsOf("name: demo\nedge:\n  dns: { zone: Z123 }\n").map((p) => p.message);
    expect(noBase).toContain("edge.dns needs edge.baseDomain: the records are <baseDomain> and *.<baseDomain>");
    expect(noBase).toContain("edge.dns is rendered into a cloud's main.tf; provider local has none");
    const azure = "name: demo\nprovider: { type: azure, image: img, location: westeurope, sshPublicKeyFile: k.pub, adminCidrs: [198.51.100.0/24] }\nedge:\n  baseDomain: lab.example.org\n  dns: { zone: example.org }\n";
    expect(problemsOf(azure)).toEqual([expect.objectContaining({ path: "edge.dns.resourceGroup", message: "Azure DNS zones live in a resource group: name it" })]);
  });

  it("names the field path and the line of a bad nested value", () => {
    const text = [
      "name: demo", // 1
      "nodeGroups:", // 2
      "  - name: master", // 3
      "    roles: [master]", // 4
      "    count: 1", // 5
      "  - name: service", // 6
      "    roles: [service]", // 7
      "    count: -3", // 8
      "",
    ].join("\n");
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "nodeGroups[1].count", line: 8 });
    try {
      parseYamlWith(ClusterSpec, text, "cluster.yaml");
    } catch (err) {
      expect((err as Error).message).toContain("line 8: nodeGroups[1].count");
    }
  });

  it("reports every bad field at once, each with its own line", () => {
    const problems = problemsOf("name: Demo_Cluster\nnetworks:\n  podCidr: 10.244.1.0/16\n");
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ["name", 1],
      ["networks.podCidr", 3],
    ]);
    expect(problems[1]!.message).toMatch(/no host bits/);
  });

  it("gives YAML syntax errors the line they sit on", () => {
    const problems = problemsOf("name: demo\nnetworks:\n  podCidr: a: b\n");
    expect(problems[0]!.message).toMatch(/^YAML syntax: /);
    expect(problems[0]!.line).toBe(3);
  });

  it("rejects tab indentation with its line", () => {
    const problems = problemsOf("name: demo\nstorage:\n\treplication: 2\n");
    expect(problems[0]!.message).toMatch(/YAML syntax: .*[Tt]ab/);
    expect(problems[0]!.line).toBe(3);
  });

  it("rejects duplicate keys, pointing at the repeated one", () => {
    const problems = problemsOf("name: demo\nkubernetesVersion: 1.20.2\nname: other\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/YAML syntax: .*unique/i);
    expect(problems[0]!.line).toBe(3);
  });

  it("reports a missing name for an empty file, and a non-mapping document at the root", () => {
    expect(problemsOf("")).toEqual([expect.objectContaining({ path: "name" })]);
    expect(problemsOf("- a\n- b\n")[0]).toMatchObject({ path: "", line: 1 });
  });

  it("refuses storage replication above the number of storage nodes, at storage.replication", () => {
    const problems = problemsOf(masterAndStorage(2, 3));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "storage.replication", line: 10 });
    expect(problems[0]!.message).toContain("replication 3 is larger than the number of storage nodes (2)");
    // Equal is fine.
    expect(parseYamlWith(ClusterSpec, masterAndStorage(3, 3), "cluster.yaml").storage.replication).toBe(3);
  });

  it("refuses a storage node count that is not a multiple of replication, and a device outside /dev", () => {
    const problems = problemsOf(masterAndStorage(3, 2));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "storage.replication" });
    expect(problems[0]!.message).toContain("the number of storage nodes (3) must be a multiple of replication 2");
    expect(parseYamlWith(ClusterSpec, masterAndStorage(4, 2), "cluster.yaml").storage.replication).toBe(2);
    const device = problemsOf("name: demo\nstorage:\n  device: /tmp/disk.img\n");
    expect(device[0]).toMatchObject({ path: "storage.device", line: 3 });
  });

  it("refuses a token lifetime of zero", () => {
    expect(problemsOf("name: demo\ncoordinator:\n  tokenTtl: 0s\n")[0]).toMatchObject({ path: "coordinator.tokenTtl", line: 3 });
  });

  it("refuses overlapping pod and service CIDRs", () => {
    const problems = problemsOf("name: demo\nnetworks:\n  podCidr: 10.96.0.0/16\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "networks.podCidr", line: 3 });
    expect(problems[0]!.message).toContain("overlaps serviceCidr 10.96.0.0/12");
  });

  it("refuses a service CIDR that overlaps the node CIDR", () => {
    const problems = problemsOf("name: demo\nnetworks:\n  serviceCidr: 10.240.0.0/16\n");
    expect(problems.map((p) => p.path)).toEqual(["networks.serviceCidr"]);
    expect(problems[0]!.message).toContain("overlaps nodeCidr");
  });

  it("refuses a per-node pod subnet larger than the pod CIDR", () => {
    const problems = problemsOf("name: demo\nnetworks:\n  podCidr: 10.0.0.0/16\n  podCidrMaskSize: 12\n");
    expect(problems.every((p) => p.path === "networks.podCidrMaskSize" && p.line === 4)).toBe(true);
  });

  it("requires at least one master node", () => {
    const noMasterGroup = problemsOf("name: demo\nnodeGroups:\n  - name: svc\n    roles: [service]\n    count: 3\n");
    expect(noMasterGroup).toEqual([expect.objectContaining({ path: "nodeGroups", message: expect.stringContaining("role master") })]);
    const zeroMasters = problemsOf("name: demo\nnodeGroups:\n  - name: m\n    roles: [master]\n    count: 0\n");
    expect(zeroMasters.map((p) => p.path)).toEqual(["nodeGroups"]);
  });

  it("refuses duplicate node group names at the second group's name", () => {
    const text = [
      "name: demo",
      "nodeGroups:",
      "  - name: pool",
      "    roles: [master]",
      "    count: 1",
      "  - name: pool",
      "    roles: [service]",
      "    count: 1",
      "",
    ].join("\n");
    const problems = problemsOf(text);
    expect(problems).toEqual([expect.objectContaining({ path: "nodeGroups[1].name", line: 6, message: 'duplicate node group name "pool"' })]);
  });

  it("refuses repeated roles inside one group", () => {
    const problems = problemsOf("name: demo\nnodeGroups:\n  - name: m\n    roles: [master, master]\n    count: 1\n");
    expect(problems[0]).toMatchObject({ path: "nodeGroups[0].roles", line: 4 });
  });

  it("refuses an unsupported Kubernetes minor, listing the supported ones", () => {
    const problems = problemsOf("name: demo\nkubernetesVersion: 1.25.0\n");
    expect(problems).toEqual([expect.objectContaining({ path: "kubernetesVersion", line: 2 })]);
    expect(problems[0]!.message).toContain("1.20, 1.30, 1.31");
    expect(problemsOf("name: demo\nkubernetesVersion: \"1.31\"\n")[0]!.message).toContain("full version");
    expect(parseYamlWith(ClusterSpec, "name: demo\nkubernetesVersion: 1.31.0\n", "c").kubernetesVersion).toBe("1.31.0");
  });

  it("refuses durations that are not <n>s|m|h|d", () => {
    for (const bad of ["2 hours", "90", "1w", "-5m", "1.5h"]) {
      const problems = problemsOf(`name: demo\ncoordinator:\n  tokenTtl: "${bad}"\n`);
      expect(problems).toEqual([expect.objectContaining({ path: "coordinator.tokenTtl", line: 3 })]);
    }
    expect(parseYamlWith(ClusterSpec, "name: demo\ncoordinator:\n  tokenTtl: 15m\n", "c").coordinator.tokenTtl).toBe("15m");
  });

  it("refuses a listen address without a port", () => {
    expect(problemsOf("name: demo\ncoordinator:\n  listen: 0.0.0.0\n")[0]).toMatchObject({ path: "coordinator.listen", message: "must be host:port" });
  });

  it("plans the ssh provider's nodes from its hosts: names per first role, roles counted from the hosts", () => {
    const yaml = [
      "name: lab",
      "provider:",
      "  type: ssh",
      "  hosts:",
      "    - { address: 192.0.2.10, roles: [master, edge], hostKey: SHA256:2S4eFu0HeTfH6JfoOTvjpCgwsxG1Tq9dZ8NbJd2Wd0Q }",
      "    - { address: 192.0.2.11, roles: [service], user: debian, port: 2222 }",
      "    - { address: node-12.lab.example.org, roles: [service] }",
      "    - { address: 192.0.2.13, roles: [storage], name: disk-a }",
      "",
    ].join("\n");
    const spec = parseYamlWith(ClusterSpec, yaml, "cluster.yaml");
    expect(planNodes(spec)).toEqual([
      { name: "master-1", group: "master+edge", roles: ["master", "edge"] },
      { name: "service-1", group: "service", roles: ["service"] },
      { name: "service-2", group: "service", roles: ["service"] },
      { name: "disk-a", group: "storage", roles: ["storage"] },
    ]);
    // The default node groups play no part: the hosts are the cluster.
    expect(roleCounts(spec)).toEqual({ master: 1, edge: 1, service: 2, storage: 1 });
    expect(spec.provider.type === "ssh" && spec.provider.hosts[1]).toMatchObject({ user: "debian", port: 2222 });
    expect(spec.provider.type === "ssh" && spec.provider.hosts[2]).toMatchObject({ user: "root", port: 22 });
  });

  it("refuses ssh hosts without a master, listed twice, or with a malformed pin, each at its own path", () => {
    const problems = problemsOf(
      [
        "name: lab",
        "provider:",
        "  type: ssh",
        "  hosts:",
        "    - { address: 192.0.2.11, roles: [service], name: a }",
        "    - { address: 192.0.2.11, roles: [service], name: a }",
        "    - { address: 192.0.2.12, roles: [service], hostKey: 'MD5:ab:cd' }",
        "",
      ].join("\n"),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(["provider.hosts", "provider.hosts[1].address", "provider.hosts[1].name", "provider.hosts[2].hostKey"].sort());
    expect(problems.find((p) => p.path === "provider.hosts[1].name")!.message).toContain('node name "a" is used by hosts[0] too');
    expect(problems.find((p) => p.path === "provider.hosts[1].address")!.message).toContain("192.0.2.11:22 is listed twice");
    expect(problems.find((p) => p.path === "provider.hosts")!.message).toContain("at least one node with role master");
    expect(problemsOf("name: lab\nprovider:\n  type: ssh\n  hosts: []\n")[0]).toMatchObject({ path: "provider.hosts", message: "list at least one host" });
  });

  it("defaults the egress proxy's extra NO_PROXY list", () => {
    const spec = parseYamlWith(ClusterSpec, "name: demo\negressProxy:\n  httpProxy: http://proxy:3128\n", "c");
    expect(spec.egressProxy).toEqual({ httpProxy: "http://proxy:3128", noProxy: [] });
  });
});

describe("parseJsonWith", () => {
  const Schema = z.object({ a: z.object({ b: z.number() }) });

  it("turns malformed JSON into a ValidationError saying so", () => {
    let caught: unknown;
    try {
      parseJsonWith(Schema, '{"a": ', "request body");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const v = caught as ValidationError;
    expect(v.where).toBe("request body");
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]!.path).toBe("");
    expect(v.problems[0]!.message).toMatch(/^malformed JSON: /);
    expect(v.message).toContain("request body is invalid");
  });

  it("names the path of a schema error", () => {
    expect(() => parseJsonWith(Schema, '{"a": {"b": "x"}}', "body")).toThrow(/a\.b: /);
    expect(parseJsonWith(Schema, '{"a": {"b": 1}}', "body")).toEqual({ a: { b: 1 } });
  });
});

describe("formatPath", () => {
  it("writes paths the way users do", () => {
    expect(formatPath(["nodeGroups", 1, "count"])).toBe("nodeGroups[1].count");
    expect(formatPath([0, "x"])).toBe("[0].x");
    expect(formatPath([])).toBe("");
  });
});

describe("durationMs", () => {
  it("converts each unit", () => {
    expect(durationMs("30s")).toBe(30_000);
    expect(durationMs("15m")).toBe(900_000);
    expect(durationMs("2h")).toBe(7_200_000);
    expect(durationMs("1d")).toBe(86_400_000);
    expect(durationMs("0s")).toBe(0);
  });

  it("throws on anything else", () => {
    for (const bad of ["", "5", "5ms", "1.5h", " 5s", "5s ", "-1s", "h"]) expect(() => durationMs(bad)).toThrow(/not a duration/);
  });

  it("throws a UserError (exit code 2) naming the bad value and the accepted form", () => {
    let caught: unknown;
    try {
      durationMs("2hours");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).message).toContain('"2hours"');
    expect((caught as UserError).message).toContain("30s, 15m, 2h or 1d");
  });
});
