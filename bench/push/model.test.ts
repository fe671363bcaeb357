import { describe, expect, it } from "vitest";
import { pullModel, pushModel } from "./model.js";
import type { DeployRun, StepTiming } from "./run-record.js";
import { kubenowTopology } from "./topology.js";

/** A calibration run on the 8-node topology (master-1, service-1..4, storage-1..3). */
function run(side: DeployRun["side"], steps: StepTiming[], extra: Partial<DeployRun> = {}): DeployRun {
  const t = kubenowTopology(8);
  const names = [{ n: "master-1", r: ["master", "edge"] }, ...Array.from({ length: t.service }, (_, i) => ({ n: `service-${i + 1}`, r: ["service"] })), ...Array.from({ length: t.storage }, (_, i) => ({ n: `storage-${i + 1}`, r: ["storage"] }))];
  const end = Math.max(...steps.map((s) => s.startMs + s.durationMs));
  return {
    side, scenario: "same-image", nodes: 8, repeat: 1, rttMs: 40, ok: true, totalMs: end + 10_000, configuredMs: end, readyMs: end, podsMs: end, edgeMs: end,
    cpuBusySeconds: 80, perNode: names.map(({ n, r }) => ({ name: n, roles: r, startMs: 1_000, endMs: end })), steps, measuredAt: "", ...extra,
  };
}

/** One task on the given hosts in waves of `forks`, each call `ms` long, starting at `at`. */
function task(id: string, hosts: string[], forks: number, ms: number, at: number): StepTiming[] {
  return hosts.map((h, i) => ({ node: h, step: id, startMs: at + Math.floor(i / forks) * ms, durationMs: ms, remoteMs: ms / 2 }));
}

const ALL8 = ["master-1", "service-1", "service-2", "service-3", "service-4", "storage-1", "storage-2", "storage-3"];

describe("pushModel", () => {
  it("keeps the calibration run's time at its own size and adds waves as hosts outgrow the forks", () => {
    // 8 hosts with 5 forks: 2 waves of 1 s. Then a master-only task of 3 s.
    const steps = [...task("containerd/config", ALL8, 5, 1_000, 1_000), ...task("control-plane/etcd", ["master-1"], 5, 3_000, 3_000)];
    const m = pushModel(run("push-kubespray", steps), { cores: 2, workstationCpuMsPerCall: 0, forksAt: () => 5, mirrorBytesPerSecond: 1e9 });
    const at8 = m.predict(8).cloudMs;
    const at64 = m.predict(64).cloudMs;
    // 64 hosts: ceil(64/5) = 13 waves of the first task instead of 2; the master-only task stays.
    expect(at64 - at8).toBe(11 * 1_000);
  });

  it("counts the first task's wait for sshd once: only its added waves scale", () => {
    // Facts: the first wave waited 5 s for sshd, the second took 1 s.
    const facts = ALL8.map((h, i) => ({ node: h, step: "gather-facts", startMs: i < 5 ? 1_000 : 6_000, durationMs: i < 5 ? 5_000 : 1_000, remoteMs: 0 }));
    const m = pushModel(run("push-kubespray", facts), { cores: 2, workstationCpuMsPerCall: 0, forksAt: () => 5, mirrorBytesPerSecond: 1e9 });
    // 64 hosts: 13 waves instead of 2, each one median call (1 s) more — not 13 × 3 s.
    expect(m.predict(64).cloudMs - m.predict(8).cloudMs).toBe(11 * 1_000);
  });

  it("makes downloads no faster than every node's bytes through the mirror's uplink", () => {
    const steps = task("install-packages", ALL8, 8, 2_000, 1_000);
    const m = pushModel(run("push-tuned", steps, { mirrorBytes: 8 * 100e6, scenario: "vanilla" }), { cores: 2, workstationCpuMsPerCall: 0, forksAt: (n) => n, mirrorBytesPerSecond: 100e6 });
    // 128 nodes × 100 MB at 100 MB/s: 128 s, far more than one 2 s wave.
    expect(m.predict(128).cloudMs - m.predict(8).cloudMs).toBeCloseTo(128_000 - 8_000, -2);
  });
});

describe("pullModel", () => {
  it("admits nodes at the coordinator's join rate and adds one route step per peer", () => {
    const steps: StepTiming[] = [...ALL8.map((n) => ({ node: n, step: "routes/x", startMs: 5_000, durationMs: 10 }))];
    const r = run("pull", steps);
    r.perNode = r.perNode.map((p) => (p.name === "master-1" ? { ...p, startMs: 1_000, endMs: 20_000 } : { ...p, startMs: 1_500, endMs: 30_000 }));
    const m = pullModel(r, { cores: 2, joinsPerSecond: 50 });
    // 500 more nodes at 50 joins/s: the last joins 10 s later; 500 more route steps of 10 ms, 4 at a time.
    expect(m.predict(508).cloudMs - m.predict(8).cloudMs).toBe(10_000 + 5_000 / 4);
    // On this machine the added nodes' CPU (10 s each in the calibration run) shares 2 cores.
    expect(m.predict(16).thisMachineMs - m.predict(16).cloudMs).toBe((8 * 10_000) / 2);
  });
});
