/**
 * What one pushed task costs per host, the number to hold against Ansible's published 0.1–1 s
 * per task per host: one node machine with sshd (bench/push), reached through the WAN relay,
 * and the same small file step pushed again and again — with pipelining (one command) and
 * without (mkdir, SFTP PUT, chmod, run + rm), each at 0 ms and 40 ms RTT. The module's own time
 * on the node is reported apart from the SSH round trips.
 *
 *   node --import tsx bench/task-cost.ts [--calls 30]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureNodeImage } from "../coordinator/providers/local/node-image.js";
import { latencyStats } from "./stats.js";
import { topologySpec } from "./push/topology.js";
import { bootPushMachines } from "./push/push-machines.js";
import { startWanRelay } from "./push/wan-relay.js";
import { SshSession } from "../coordinator/providers/ssh/ssh-session.js";
import { callModule } from "./push/module-call.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "30" } } });
const calls = Number(values.calls);
const image = await ensureNodeImage((line) => process.stderr.write(`${line}\n`), join(import.meta.dirname, "../image-build/build-rootfs.sh"));
// One master only: the smallest spec the topology accepts is 3 nodes, so this one is written out.
const { spec } = topologySpec("btaskcost", { nodes: 3, service: 1, storage: 1, replication: 1 }, { nodeCidr: "10.252.251.0/24", coordinatorPort: 7699 });
const single = { ...spec, nodeGroups: [spec.nodeGroups[0]!] };
const work = await mkdtemp(join(tmpdir(), "sprout-task-cost-"));
const machines = await bootPushMachines(single, { imageRoot: image.root, stateDir: work });
const results: Record<string, unknown> = {};
try {
  const host = machines.hosts[0]!;
  for (const rttMs of [0, 40]) {
    const relay = await startWanRelay({ target: { host: host.address, port: 22 }, rttMs });
    const session = await SshSession.openWhenUp({ name: host.name, host: relay.host, port: relay.port, privateKey: machines.clientKey, hostKey: host.hostKey });
    for (const pipelining of [true, false]) {
      const wall: number[] = [];
      const remote: number[] = [];
      for (let i = 0; i < calls; i++) {
        const step = { id: "bench/file", description: "a small file", kind: "file" as const, path: "/etc/sprout-task-cost", content: `call ${i % 2}\n` };
        const started = performance.now();
        const r = await callModule(session, { step }, { pipelining, answers: { sign: () => Promise.reject(new Error("no")), signNode: () => Promise.reject(new Error("no")), barrier: async () => true } });
        if (r.outcome === "failed") throw new Error(`the pushed step failed: ${r.error}`);
        wall.push(performance.now() - started);
        remote.push(r.durationMs);
      }
      results[`rtt${rttMs}ms_${pipelining ? "pipelining" : "noPipelining"}`] = { perCall: latencyStats(wall), moduleOwnMs: latencyStats(remote).p50Ms };
    }
    session.close();
    await relay.close();
  }
} finally {
  await machines.destroy();
  await rm(work, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ bench: "task-cost", calls, ...results })}\n`);
