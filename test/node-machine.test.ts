import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, readdir, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeNetwork, destroyNodeNetwork, type NodeNetwork } from "../coordinator/providers/local/node-network.js";
import { cleanupCluster, listMachines, startMachine, stopMachine, type NodeMachine } from "../coordinator/providers/local/node-machine.js";
import { readMountinfo } from "../coordinator/providers/local/machine-cgroups.js";
import { AGENT_BUNDLE, testNodeCidr, testNodeImage, waitFor } from "./support/harness.js";

/**
 * Two real node machines booted from the image rootfs (image-build/build-rootfs.sh) on a real
 * node network: systemd as PID 1, containerd, their own hostnames and machine-ids, TCP between
 * them, and nothing left behind after they stop.
 */
const NODES = ["node-a", "node-b"];

const buildRootfs = async (): Promise<string> => (await testNodeImage()).root;

/** Host pids whose namespace of `kind` is `inode` (e.g. `pid:[4026532301]`). */
async function pidsInNamespace(kind: string, inode: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const ns = await readlink(`/proc/${e}/ns/${kind}`).catch(() => "");
    if (ns === inode) out.push(Number(e));
  }
  return out;
}

async function cgroupDirs(cluster: string): Promise<string[]> {
  const found: string[] = [];
  for (const h of await readdir("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", h, "sprout", cluster);
    if (await stat(dir).catch(() => undefined)) found.push(dir);
  }
  return found;
}

describe("node machines", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  let imageRoot = "";
  let stateRoot = "";
  let network: NodeNetwork | undefined;
  const machines: NodeMachine[] = [];
  const namespaces: { node: string; pid: string; mnt: string }[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    let t = Date.now();
    imageRoot = await buildRootfs();
    timings.image = Date.now() - t;
    stateRoot = await mkdtemp(join(tmpdir(), `sprout-${cluster}-`));
    network = await createNodeNetwork(cluster, testNodeCidr(cluster, "10.251"), NODES);
    t = Date.now();
    machines.push(
      ...(await Promise.all(
        network.nodes.map((n) => startMachine({ cluster, node: n.name, imageRoot, stateDir: join(stateRoot, n.name), netns: n.netns, address: n.address })),
      )),
    );
    timings.start = Date.now() - t;
    for (const m of machines) {
      namespaces.push({ node: m.node, pid: await readlink(`/proc/${m.pid}/ns/pid`), mnt: await readlink(`/proc/${m.pid}/ns/mnt`) });
    }
  }, 1_200_000);

  afterAll(async () => {
    await cleanupCluster(cluster).catch((err) => console.error("cleanupCluster:", err));
    await network?.destroy();
    await destroyNodeNetwork(cluster);
    if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
    console.log(`node machines: image ${timings.image} ms, start ${timings.start} ms, boot ${timings.boot} ms, stop ${timings.stopA} ms (poweroff) + ${timings.stopB} ms (by name, SIGKILL)`);
  });

  it("boots systemd to running, with containerd", async () => {
    const t = Date.now();
    const states = await Promise.all(machines.map((m) => m.waitForBoot(120_000)));
    timings.boot = Date.now() - t;
    for (const [i, m] of machines.entries()) {
      if (states[i] !== "running") {
        const failed = await m.exec(["systemctl", "--failed", "--no-legend", "--no-pager"]);
        console.error(`${m.node} is ${states[i]}; failed units:\n${failed.stdout}`);
      }
      expect(["running", "degraded"]).toContain(states[i]);
      expect((await m.exec(["systemctl", "is-active", "containerd"])).stdout.trim()).toBe("active");
      const ctr = await m.exec(["ctr", "version"]);
      expect(ctr.code, ctr.stderr).toBe(0);
      expect(ctr.stdout).toMatch(/Server:\s+Version:/);
    }
    // Every machine is expected to reach `running`; a degraded one was printed above.
    expect(states).toEqual(["running", "running"]);
  });

  it("gives each machine its own hostname and machine-id, and the image's version", async () => {
    const ids = new Set<string>();
    for (const m of machines) {
      expect((await m.exec(["hostname"])).stdout.trim()).toBe(m.node);
      const id = (await m.exec(["cat", "/etc/machine-id"])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      ids.add(id);
      expect((await m.exec(["cat", "/etc/sprout/image-version"])).stdout.trim()).toBe((await readFile(join(imageRoot, "etc/sprout/image-version"), "utf8")).trim());
      // The node's cgroup namespace is rooted at its own cgroup: systemd sees itself in /init.scope.
      expect((await m.exec(["cat", "/proc/1/cgroup"])).stdout).toMatch(/^\d+:name=systemd:\/init\.scope$/m);
    }
    expect(ids.size).toBe(machines.length);
  });

  it("lets the machine create cgroups in every hierarchy, inside its own subtree (as the kubelet does)", async () => {
    const m = machines[0]!;
    const probe = `/sys/fs/cgroup/memory/sprout/${cluster}/${m.node}/sprout-probe`;
    const r = await m.exec(["sh", "-c", "set -e; for h in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do mkdir \"$h/sprout-probe\"; done; findmnt -rn -t cgroup,cgroup2 -o TARGET | wc -l"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThanOrEqual(1);
    expect((await stat(probe).catch(() => undefined))?.isDirectory()).toBe(true);
    const rm = await m.exec(["sh", "-c", "set -e; for h in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do rmdir \"$h/sprout-probe\"; done"]);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it("carries the tools and runtime the agent needs", async () => {
    const [m] = machines;
    for (const argv of [["kubelet", "--version"], ["kubectl", "version", "--client"], ["runc", "--version"], ["etcd", "--version"], ["iptables", "-L", "-n"], ["conntrack", "--version"]]) {
      const r = await m!.exec(argv);
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect((await m!.exec(["ls", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/portmap", "/usr/lib/cni/loopback"])).code).toBe(0);
    // The agent bundle runs on the image's Node.js (built by `npm run build`, as the harness expects).
    if (await stat(AGENT_BUNDLE).catch(() => undefined)) {
      await copyFile(AGENT_BUNDLE, join(m!.rootPath, "root/sprout-agent.cjs"));
      const r = await m!.exec(["node", "/root/sprout-agent.cjs", "version"]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("connects node A to node B over TCP on the node network", async () => {
    const [a, b] = machines;
    const addrB = network!.nodes.find((n) => n.name === b!.node)!.address;
    // The listener runs as a transient unit inside B, so it lives in B's cgroups.
    const listen = await b!.exec(["systemd-run", "--unit=sprout-echo", "socat", `TCP-LISTEN:7000,bind=${addrB},reuseaddr,fork`, "SYSTEM:hostname"]);
    expect(listen.code, listen.stderr).toBe(0);
    let answer = "";
    await waitFor(
      async () => {
        const r = await a!.exec(["socat", "-T", "5", "-", `TCP:${addrB}:7000,connect-timeout=2`], { timeoutMs: 10_000 });
        answer = r.stdout.trim();
        return r.code === 0 && answer !== "";
      },
      15_000,
      `${a!.node} to reach ${addrB}:7000`,
    );
    expect(answer).toBe(b!.node);
  });

  it("keeps a machine's identity and writes across a restart", async () => {
    const a = machines[0]!;
    const id = (await a.exec(["cat", "/etc/machine-id"])).stdout.trim();
    expect((await a.exec(["sh", "-c", "echo kept >/var/lib/sprout-marker"])).code).toBe(0);
    await a.stop();
    const n = network!.nodes.find((x) => x.name === a.node)!;
    const again = await startMachine({ cluster, node: a.node, imageRoot, stateDir: a.stateDir, netns: n.netns, address: n.address });
    machines[0] = again;
    namespaces[0] = { node: a.node, pid: await readlink(`/proc/${again.pid}/ns/pid`), mnt: await readlink(`/proc/${again.pid}/ns/mnt`) };
    expect(await again.waitForBoot(120_000)).toBe("running");
    expect((await again.exec(["cat", "/etc/machine-id"])).stdout.trim()).toBe(id);
    expect((await again.exec(["cat", "/var/lib/sprout-marker"])).stdout.trim()).toBe("kept");
    expect((await again.exec(["systemctl", "is-active", "containerd"])).stdout.trim()).toBe("active");
  });

  it("stops both machines and leaves no process, mount, cgroup or namespace behind", async () => {
    const t = Date.now();
    const [a, b] = machines;
    // A stops itself (graceful poweroff); B is removed by name only, as after a crash.
    await a!.stop();
    timings.stopA = Date.now() - t;
    await cleanupCluster(cluster);
    timings.stopB = Date.now() - t - timings.stopA;
    await stopMachine({ cluster, node: b!.node, stateDir: b!.stateDir }); // idempotent

    for (const m of machines) expect(() => process.kill(m.pid, 0)).toThrow();
    for (const ns of namespaces) {
      expect(await pidsInNamespace("pid", ns.pid), `processes left in ${ns.node}'s pid namespace`).toEqual([]);
      expect(await pidsInNamespace("mnt", ns.mnt), `processes left in ${ns.node}'s mount namespace`).toEqual([]);
    }
    const mounts = (await readMountinfo()).filter((m) => m.source.startsWith(`sprout.${cluster}.`) || m.mountPoint.startsWith(stateRoot));
    expect(mounts).toEqual([]);
    expect(await cgroupDirs(cluster)).toEqual([]);
    expect(await listMachines(cluster)).toEqual([]);

    await network!.destroy();
    network = undefined;
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").filter((l) => l.startsWith(`sprout.${cluster}`));
    expect(left).toEqual([]);
  });
});
