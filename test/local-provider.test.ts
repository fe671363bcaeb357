import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterStatus } from "../shared/status.js";
import { findMachine, listMachines, startMachine, stopMachine } from "../coordinator/providers/local/node-machine.js";
import { readMountinfo } from "../coordinator/providers/local/machine-cgroups.js";
import { uplinkName } from "../coordinator/providers/local/node-network.js";
import { run, SPROUT_CLI, waitFor, type CommandResult } from "./support/harness.js";

/**
 * `sprout up`: real node machines booted from the node image, their image-baked agents
 * joining a real coordinator and configuring containerd, the kubelet, and the control plane on
 * the master; the nodes turn Ready, a Deployment spreads over the workers, pods reach each other
 * across nodes by IP and through a ClusterIP Service; `sprout down` removes every trace.
 */
describe("local provider: sprout up, sprout down", () => {
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
    // Never the developer's or CI's own ~/.kube/config.
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "4m", "--kubeconfig", join(parent, "kubeconfig")]);
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

  it("kubectl get nodes shows every node's roles (the master's labeller, 1.20: master)", async () => {
    const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", join(parent, "kubeconfig"), "--request-timeout=15s", ...args]);
    const roles = async () =>
      Object.fromEntries((await kubectl("get", "nodes", "--no-headers", "-o", "custom-columns=NAME:.metadata.name,LABELS:.metadata.labels")).stdout.trim().split("\n").map((l) => {
        const [, name, labels] = /^(\S+)\s+(.*)$/.exec(l)!;
        return [name!, [...labels!.matchAll(/node-role\.kubernetes\.io\/([a-z-]+)/g)].map((m) => m[1]).sort().join(",")];
      }));
    const wanted = { "master-1": "edge,master", "service-1": "service", "service-2": "service" };
    // A node is labelled at the labeller's first round after it registered.
    await waitFor(async () => JSON.stringify(await roles()) === JSON.stringify(wanted), 60_000, `role labels ${JSON.stringify(wanted)}`).catch(async (err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(await roles())}`);
    });
    const table = (await kubectl("get", "nodes")).stdout;
    expect(table).toMatch(/^master-1\s+Ready\s+edge,master\s/m);
    expect(table).not.toContain("<none>");
  });

  it("the nodes turn Ready; a Deployment spreads over both workers; pods reach each other by IP and through a ClusterIP Service", async () => {
    // Written by `sprout up` itself.
    const kubeconfig = join(parent, "kubeconfig");
    expect(up.stderr).toContain(`kubectl: context sprout-${cluster} in ${kubeconfig}`);
    const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=15s", ...args]);
    await waitFor(async () => {
      const r = await kubectl("get", "nodes", "--no-headers");
      return r.stdout.trim().split("\n").filter((l) => / Ready /.test(l)).length === 3;
    }, 120_000, "3 Ready nodes");

    const app = [
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { replicas: 4, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "sprout.dev/toolbox:1", imagePullPolicy: "Never" }] } } } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 80 }] } },
    ];
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(parent, "app.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: app }));
    expect((await kubectl("apply", "-f", join(parent, "app.json"))).code).toBe(0);
    const rollout = await kubectl("rollout", "status", "deployment/web", "--timeout=120s");
    expect(rollout.code, rollout.stderr).toBe(0);

    // name, IP, node of every pod: all four run, on both workers.
    const pods = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName} {.status.phase}{\"\\n\"}{end}")).stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string, string, string]);
    expect(pods.length).toBe(4);
    expect(pods.every((p) => p[3] === "Running")).toBe(true);
    expect(new Set(pods.map((p) => p[2]))).toEqual(new Set(["service-1", "service-2"]));

    // A pod on worker A fetches from a pod on worker B by pod IP: routes between nodes' pod networks.
    const a = pods.find((p) => p[2] === "service-1")!;
    const b = pods.find((p) => p[2] === "service-2")!;
    const direct = await kubectl("exec", a[0], "--", "timeout", "5", "wget", "-q", "-O-", `http://${b[1]}/cgi-bin/hostname`);
    expect(direct.stdout.trim(), direct.stderr).toBe(b[0]);

    // Through the Service's ClusterIP (kube-proxy): answers come from pods on both workers.
    const clusterIp = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
    const answered = new Set<string>();
    for (let i = 0; i < 12 && answered.size < 4; i++) {
      const r = await kubectl("exec", a[0], "--", "timeout", "5", "wget", "-q", "-O-", `http://${clusterIp}/cgi-bin/hostname`);
      expect(r.code, r.stderr).toBe(0);
      answered.add(r.stdout.trim());
    }
    const nodesAnswering = new Set(pods.filter((p) => answered.has(p[0])).map((p) => p[2]));
    expect(nodesAnswering).toEqual(new Set(["service-1", "service-2"]));
  });

  it("re-running a node's agent changes nothing, and a second sprout up converges without re-joining", async () => {
    const machine = await findMachine({ cluster, node: "service-1", imageRoot: "", stateDir: join(dir, ".sprout/machines/service-1"), netns: `sprout.${cluster}.service-1` });
    const before = (await machine!.exec(["journalctl", "-u", "sprout-agent", "-o", "cat", "--no-pager"])).stdout.split("\n").length;
    expect((await machine!.exec(["systemctl", "restart", "sprout-agent"])).code).toBe(0);
    // The restarted agent's first pass, as it logs it: nothing changed, nothing failed.
    let pass = "";
    await waitFor(async () => {
      const lines = (await machine!.exec(["journalctl", "-u", "sprout-agent", "-o", "cat", "--no-pager"])).stdout.split("\n").slice(before);
      pass = lines.find((l) => l.includes("configuration pass finished")) ?? "";
      return pass !== "";
    }, 60_000, "the restarted agent's pass");
    expect(pass).toMatch(/"changed":0,"failed":0/);

    const again = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "2m", "--kubeconfig", join(parent, "kubeconfig")]);
    expect(again.code, again.stderr.slice(-1500)).toBe(0);
    expect(again.stderr).toContain("3 already running");
    const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", join(parent, "kubeconfig"), "--request-timeout=15s", ...args]);
    const ready = (await kubectl("get", "nodes", "--no-headers")).stdout.trim().split("\n").filter((l) => / Ready /.test(l));
    expect(ready.length).toBe(3);
  });

  it("a node machine that reboots comes back Ready without its coordinator, and its agent changes nothing", async () => {
    const stateDir = join(dir, ".sprout/machines/service-2");
    const record = JSON.parse(await readFile(join(stateDir, "machine.json"), "utf8")) as { imageRoot: string; netns: string };
    const spec = { cluster, node: "service-2", imageRoot: record.imageRoot, stateDir, netns: record.netns };
    const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", join(parent, "kubeconfig"), "--request-timeout=15s", ...args]);
    const before = (await findMachine(spec))!.pid;

    // A power cycle, as a cloud VM gets: systemd shuts the machine down, then it boots again from
    // its own disk (the overlay's upper layer). No `sprout up` runs: the coordinator is gone.
    await stopMachine(spec, { graceful: true, timeoutMs: 30_000 });
    const rebootedAt = Date.now();
    const machine = await startMachine(spec);
    expect(machine.pid).not.toBe(before);

    // The agent starts at boot, finds no coordinator, converges from its cached manifest.
    let pass = "";
    await waitFor(async () => {
      const lines = (await machine.exec(["journalctl", "-u", "sprout-agent", "--since", `@${Math.floor(rebootedAt / 1000)}`, "-o", "cat", "--no-pager"])).stdout.split("\n");
      pass = lines.find((l) => l.includes("configuration pass finished")) ?? "";
      return pass !== "";
    }, 90_000, "the agent's first pass after the reboot");
    expect(pass).toMatch(/"changed":0,"failed":0/);

    await waitFor(async () => {
      const r = await kubectl("get", "node", "service-2", "--no-headers");
      return / Ready /.test(r.stdout);
    }, 120_000, "service-2 Ready again");
    // Its pods run again, in containers started after the reboot: the kubelet is back at work.
    await waitFor(async () => {
      const r = await kubectl("get", "pods", "-l", "app=web", "--field-selector", "spec.nodeName=service-2", "-o", "jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].state.running.startedAt}{\"\\n\"}{end}");
      const pods = r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(" "));
      return pods.length > 0 && pods.every(([phase, started]) => phase === "Running" && started !== undefined && Date.parse(started) >= rebootedAt - 1000);
    }, 180_000, "service-2's pods running again in new containers");
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
