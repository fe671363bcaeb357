import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterStatus } from "../shared/status.js";
import { findMachine, listMachines } from "../coordinator/providers/local/node-machine.js";
import { readMountinfo } from "../coordinator/providers/local/machine-cgroups.js";
import { uplinkName } from "../coordinator/providers/local/node-network.js";
import { run, SPROUT_CLI, waitFor, type CommandResult } from "./support/harness.js";

/**
 * `sprout up --machines`: real node machines booted from the node image, their image-baked agents
 * joining a real coordinator and configuring containerd, the kubelet, and the control plane on
 * the master; the nodes turn Ready and run a pod; `sprout down` removes every trace.
 */
describe("local provider: sprout up --machines, sprout down", () => {
  // The cluster name comes from the directory; test clusters are named it<6 hex> so an
  // interrupted run is swept by the global setup.
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-lp`);
  const dir = join(parent, cluster);
  let up: CommandResult;

  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    // A node network of its own, so a developer's default cluster on 10.240.0.0/24 is left alone.
    await run(process.execPath, [SPROUT_CLI, "init", dir]);
    const yaml = await readFile(join(dir, "cluster.yaml"), "utf8");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "cluster.yaml"), yaml.replace("10.240.0.0/24", "10.241.7.0/24").replace("127.0.0.1:7443", "127.0.0.1:7551"));
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--machines", "--timeout", "4m"]);
  }, 1_200_000);

  afterAll(async () => {
    await run(process.execPath, [SPROUT_CLI, "down", dir]);
    await rm(parent, { recursive: true, force: true });
  });

  it("brings every node machine to converged", async () => {
    expect(up.code, up.stderr.slice(-2000)).toBe(0);
    expect(up.stderr).toContain("3 of 3 nodes converged");
    const status = ClusterStatus.parse(JSON.parse((await run(process.execPath, [SPROUT_CLI, "status", dir, "-o", "json"])).stdout));
    expect(status.nodes.map((n) => [n.name, n.phase]).sort()).toEqual([
      ["master-1", "converged"],
      ["service-1", "converged"],
      ["service-2", "converged"],
    ]);
  });

  it("runs containerd, the kubelet and the agent as units inside each machine", async () => {
    for (const node of ["master-1", "service-1", "service-2"]) {
      const machine = await findMachine({ cluster, node, imageRoot: "", stateDir: join(dir, ".sprout/machines", node), netns: `sprout.${cluster}.${node}` });
      expect(machine, node).toBeDefined();
      const r = await machine!.exec(["systemctl", "is-active", "containerd", "kubelet", "sprout-agent"]);
      expect(r.stdout.trim().split("\n"), node).toEqual(["active", "active", "active"]);
      const cert = await machine!.exec(["test", "-s", "/etc/kubernetes/pki/kube-proxy.crt"]);
      expect(cert.code, `${node} has its kube-proxy certificate`).toBe(0);
    }
  });

  it("the nodes turn Ready in Kubernetes and a pod runs on a worker", async () => {
    const kubeconfig = join(parent, "kubeconfig");
    expect((await run(process.execPath, [SPROUT_CLI, "kubeconfig", dir, "--out", kubeconfig])).code).toBe(0);
    const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=10s", ...args]);
    await waitFor(async () => {
      const r = await kubectl("get", "nodes", "--no-headers");
      return r.stdout.trim().split("\n").filter((l) => / Ready /.test(l)).length === 3;
    }, 120_000, "3 Ready nodes");
    const pod = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web" },
      spec: { nodeName: "service-1", containers: [{ name: "web", image: "sprout.dev/toolbox:1", imagePullPolicy: "Never" }] },
    });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(parent, "pod.json"), pod);
    expect((await kubectl("apply", "-f", join(parent, "pod.json"))).code).toBe(0);
    await waitFor(async () => (await kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase}")).stdout === "Running", 120_000, "pod web Running");
    const ip = (await kubectl("get", "pod", "web", "-o", "jsonpath={.status.podIP}")).stdout;
    expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
  });

  it("sprout down removes machines, mounts, namespaces and the uplink, and is idempotent", async () => {
    const first = await run(process.execPath, [SPROUT_CLI, "down", dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("removed 3 node machine(s)");
    expect(await listMachines(cluster)).toEqual([]);
    expect((await readMountinfo()).filter((m) => m.source.startsWith(`sprout.${cluster}.`) || m.mountPoint.includes(`/${cluster}/`))).toEqual([]);
    const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    expect(namespaces).not.toContain(`sprout.${cluster}`);
    // "[s]" so pgrep does not find its own shell's command line.
    const pids = execFileSync("sh", ["-c", `pgrep -f '[s]prout.${cluster}' || true`], { encoding: "utf8" }).trim();
    expect(pids).toBe("");
    const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
    expect(links).not.toContain(uplinkName(cluster));
    const again = await run(process.execPath, [SPROUT_CLI, "down", dir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("removed 0 node machine(s)");
  });
});
