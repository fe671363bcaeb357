import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ssh2 from "ssh2";
import { testNodeCidr, testNodeImage } from "./support/harness.js";
import { kubenowTopology, topologySpec } from "../bench/push/topology.js";
import { bootPushMachines, type PushMachines } from "../bench/push/push-machines.js";
import { ed25519KeyPair } from "../coordinator/providers/ssh/host-keys.js";
import { pushDeploy, type PushResult } from "../bench/push/push-deploy.js";
import { reachEndState } from "../bench/push/end-state.js";
import { startWanRelay } from "../bench/push/wan-relay.js";
import { SshSession } from "../coordinator/providers/ssh/ssh-session.js";

const run = promisify(execFile);

/**
 * The benchmark's push baseline must really build the cluster it is compared with: three node
 * machines from Sprout's image with sshd and no agent (1 master+edge, 1 service, 1 storage), a
 * workstation pushing Sprout's steps over SSH through the WAN relay — here without pipelining,
 * Ansible's default (temp dir, SFTP PUT, chmod, run) and 2 forks — and the same end state the
 * benchmark times: nodes Ready, a pod on each worker (the service node's writing to the shared
 * GlusterFS volume), the edge answering HTTP.
 */
describe("push baseline (bench/push): a Kubespray-style workstation brings up the same cluster", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const { spec } = topologySpec(cluster, kubenowTopology(3), { nodeCidr: testNodeCidr(cluster, "10.243"), coordinatorPort: 7444 });
  let work: string;
  let machines: PushMachines;
  let pushed: PushResult;

  beforeAll(async () => {
    const image = await testNodeImage();
    work = await mkdtemp(join(tmpdir(), `sprout-${cluster}-push-`));
    machines = await bootPushMachines(spec, { imageRoot: image.root, stateDir: join(work, "machines") });
    pushed = await pushDeploy(spec, machines.hosts, { forks: 2, pipelining: false, rttMs: 10, clientKey: machines.clientKey, pkiDir: join(work, "pki"), log: (l) => process.stderr.write(`${l}\n`) });
    await writeFile(join(work, "kubeconfig"), pushed.kubeconfig, { mode: 0o600 });
    await reachEndState({ kubeconfig: join(work, "kubeconfig"), nodes: machines.hosts, edgeAddress: machines.hosts[0]!.address, deadlineMs: 300_000 });
  }, 600_000);

  afterAll(async () => {
    await machines?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  it("runs every task on every host it applies to without a failure, facts first, in linear order", () => {
    expect(pushed.failedHosts).toEqual([]);
    expect(pushed.runs.filter((r) => r.outcome === "failed")).toEqual([]);
    expect(pushed.runs.slice(0, 3).map((r) => r.task)).toEqual(["gather-facts", "gather-facts", "gather-facts"]);
    // The control plane only on the master; the volume formed once, on a storage node.
    expect(new Set(pushed.runs.filter((r) => r.task.startsWith("control-plane/")).map((r) => r.host))).toEqual(new Set(["master-1"]));
    expect(pushed.runs.filter((r) => r.task === "storage/volume").map((r) => r.host)).toEqual(["storage-1"]);
    // Linear strategy: a task ends on every host before the next one starts anywhere. (A step
    // can run as two tasks, e.g. kube-proxy on the master before the workers may join.)
    const tasks: (typeof pushed.runs)[] = [];
    for (const r of pushed.runs) {
      if (tasks.at(-1)?.[0]?.task === r.task) tasks.at(-1)!.push(r);
      else tasks.push([r]);
    }
    for (let i = 1; i < tasks.length; i++) {
      const prevEnd = Math.max(...tasks[i - 1]!.map((r) => r.end));
      const nextStart = Math.min(...tasks[i]!.map((r) => r.start));
      expect(nextStart, `${tasks[i]![0]!.task} after ${tasks[i - 1]![0]!.task}`).toBeGreaterThanOrEqual(prevEnd);
    }
    expect(tasks.length).toBe(pushed.tasks);
  });

  it("reaches the benchmark's end state: 3 nodes Ready, pods on both workers, the shared volume written, the edge answering", async () => {
    const kubectl = async (...args: string[]) => (await run("kubectl", ["--kubeconfig", join(work, "kubeconfig"), "--request-timeout=20s", ...args])).stdout;
    const nodes = JSON.parse(await kubectl("get", "nodes", "-o", "json")) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
    expect(nodes.items.filter((n) => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata.name).sort()).toEqual(["master-1", "service-1", "storage-1"]);
    const pods = JSON.parse(await kubectl("get", "pods", "-o", "json")) as { items: { metadata: { name: string }; spec: { nodeName: string }; status: { phase: string } }[] };
    expect(pods.items.map((p) => [p.spec.nodeName, p.status.phase]).sort()).toEqual([["service-1", "Running"], ["storage-1", "Running"]]);
    // The service node's pod wrote its name into the GlusterFS volume through the RWX claim.
    expect((await kubectl("exec", "bench-service-1", "--", "cat", "/data/service-1")).trim()).toBe("service-1");
  });

  it("refuses a host whose key is not the one pinned for it", async () => {
    const host = machines.hosts[1]!;
    const relay = await startWanRelay({ target: { host: host.address, port: 22 }, rttMs: 0 });
    try {
      const other = ed25519KeyPair();
      const parsed = ssh2.utils.parseKey(other.public);
      if (parsed instanceof Error) throw parsed;
      await expect(SshSession.open({ name: host.name, host: relay.host, port: relay.port, privateKey: machines.clientKey, hostKey: (Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH() })).rejects.toThrow(/ssh to service-1/);
    } finally {
      await relay.close();
    }
  });
});
