import { STORAGE_STEP } from "../../shared/barrier-names.js";
import { median } from "../stats.js";
import { kubenowTopology, type Topology } from "./topology.js";
import type { DeployRun } from "./run-record.js";

/**
 * Predicts deployment time beyond the sizes this machine holds, from the per-step timings of a
 * real run (the calibration run: the smallest size measured for that side).
 *
 * Push (linear strategy): every task of the calibration run keeps its measured wall time per
 * wave of hosts; at n nodes a task applying to h(n) hosts takes ceil(h(n)/forks(n)) waves. h(n)
 * follows the node groups the task ran on (master / service / storage; the storage node that
 * forms the volume stays one host). The first task (facts, or bootstrap-os on a vanilla image)
 * also waited for sshd to come up: that wait counts once, only its added waves scale. The workstation
 * also spends CPU per call (measured): a task can be no faster than its calls' CPU divided by
 * the workstation's cores. In the vanilla scenario the installs are no faster than every node's
 * downloads (measured bytes per node) through the mirror's capped uplink.
 *
 * Pull: nodes join as they boot; the coordinator admits them at most at its measured join rate
 * (bench `join`, 1,000 virtual nodes). The master configures itself; every other node finishes
 * a measured time after the master is done (the API server barrier), or its whole measured chain
 * after its own join when that comes later, plus its route steps, one per peer, four at a time
 * (the executor's concurrency). The end state
 * (Ready, pods, edge) follows in the measured time.
 *
 * "cloud": every node has its own CPU, as on a cloud. "this machine": the same plus the CPU time
 * of the nodes added to those working at once (busy CPU per node in the calibration run; all
 * nodes for pull, `forks` for push) over this machine's cores, since all nodes share them — which is what the real points (n nodes on 2 cores) are validated
 * against.
 */
export interface Prediction {
  nodes: number;
  cloudMs: number;
  thisMachineMs: number;
}

export interface SideModel {
  calibratedOn: number;
  predict(nodes: number): Prediction;
}

const GROUPS = ["master", "service", "storage"] as const;
type Group = (typeof GROUPS)[number];

function groupOf(roles: string[]): Group {
  return roles.includes("master") ? "master" : roles.includes("storage") ? "storage" : "service";
}

function groupSize(t: Topology, g: Group): number {
  return g === "master" ? 1 : g === "service" ? t.service : t.storage;
}


/** Steps the agent's executor runs at once (agent/executor/executor.ts). */
const EXECUTOR_CONCURRENCY = 4;

/** The vanilla scenario's installs: what the nodes download from the capped mirror. */
const DOWNLOAD_TASKS = new Set(["install-packages", "download-kubernetes", "download-images"]);

export function pushModel(run: DeployRun, o: { cores: number; workstationCpuMsPerCall: number; forksAt: (n: number) => number; mirrorBytesPerSecond: number }): SideModel {
  const groups = new Map(run.perNode.map((p) => [p.name, groupOf(p.roles)]));
  const calibForks = o.forksAt(run.nodes);
  const t0 = kubenowTopology(run.nodes);
  // Tasks in the order they ran, with their hosts, measured wall time and typical call.
  const grouped: { id: string; calls: DeployRun["steps"] }[] = [];
  for (const s of run.steps) {
    if (grouped.at(-1)?.id !== s.step) grouped.push({ id: s.step, calls: [] });
    grouped.at(-1)!.calls.push(s);
  }
  const tasks = grouped.map(({ id, calls }) => {
    const t = { id, hosts: calls.map((c) => c.node), wallMs: 0, callMs: 0 };
    t.wallMs = Math.max(...calls.map((c) => c.startMs + c.durationMs)) - Math.min(...calls.map((c) => c.startMs));
    // A call's own length, without the first wave's wait for sshd: the later waves' median.
    const firstEnd = Math.min(...calls.map((c) => c.startMs + c.durationMs));
    const later = calls.filter((c) => c.startMs >= firstEnd);
    t.callMs = later.length > 0 ? median(later.map((c) => c.durationMs)) : Math.min(...calls.map((c) => c.durationMs));
    return t;
  });
  const hostsAt = (t: (typeof tasks)[number], top: Topology) => {
    const g = groups.get(t.hosts[0]!)!;
    // One host of a bigger group (the storage node that forms the volume) stays one host. At a
    // calibration size with one node in the group, only the volume's step is known to be such.
    if (t.hosts.length === 1 && (groupSize(t0, g) > 1 || t.id === STORAGE_STEP.volume)) return 1;
    return [...new Set(t.hosts.map((h) => groups.get(h)!))].reduce((n, x) => n + groupSize(top, x), 0);
  };
  const waves = (h: number, f: number) => Math.ceil(h / f);
  const lastTask = Math.max(...run.steps.map((s) => s.startMs + s.durationMs));
  const bootMs = Math.min(...run.steps.map((s) => s.startMs));
  const tailMs = run.totalMs - lastTask;
  return {
    calibratedOn: run.nodes,
    predict(nodes) {
      const top = kubenowTopology(nodes);
      const f = o.forksAt(nodes);
      let ms = bootMs + tailMs;
      let downloadsMs = 0;
      tasks.forEach((t, i) => {
        const h0 = hostsAt(t, t0);
        const h = hostsAt(t, top);
        // The first task also waited for sshd to come up, once: only its later waves scale.
        const scaled = i === 0 ? t.wallMs + (waves(h, f) - waves(h0, calibForks)) * t.callMs : waves(h, f) * (t.wallMs / waves(h0, calibForks));
        const taskMs = Math.max(scaled, (h * o.workstationCpuMsPerCall) / o.cores);
        if (DOWNLOAD_TASKS.has(t.id)) downloadsMs += taskMs;
        else ms += taskMs;
      });
      // Downloads share the mirror's uplink: no faster than every node's bytes through it.
      const bytesPerNode = (run.mirrorBytes ?? 0) / run.nodes;
      ms += Math.max(downloadsMs, ((bytesPerNode * nodes) / o.mirrorBytesPerSecond) * 1000);
      return { nodes, cloudMs: Math.round(ms), thisMachineMs: Math.round(ms + sharedCpuDelay(run, nodes, o.cores, o.forksAt)) };
    },
  };
}

/**
 * On this machine every node shares its cores: the CPU work of the nodes added to those working
 * at once (the calibration run's busy CPU time per node) competes with the critical path instead
 * of running on CPUs of its own. Nodes work at once up to `concurrency`: all of them for pull,
 * `forks` of them for push — so a push whose forks the calibration run already filled adds none.
 */
function sharedCpuDelay(run: DeployRun, nodes: number, cores: number, concurrency: (n: number) => number): number {
  const added = Math.min(concurrency(nodes), nodes) - Math.min(concurrency(run.nodes), run.nodes);
  return Math.max(0, ((run.cpuBusySeconds * 1000) / run.nodes) * added) / cores;
}

export function pullModel(run: DeployRun, o: { cores: number; joinsPerSecond: number }): SideModel {
  const master = run.perNode.find((p) => p.roles.includes("master"))!;
  const others = run.perNode.filter((p) => p !== master);
  const lastJoin = Math.max(...run.perNode.map((p) => p.startMs));
  // Routes: one step per peer on every node, run EXECUTOR_CONCURRENCY at a time.
  const routeMs = median(run.steps.filter((s) => s.step.startsWith("routes/")).map((s) => s.durationMs)) / EXECUTOR_CONCURRENCY;
  const routes = (run.nodes - 1) * routeMs;
  const afterMaster = Math.max(0, median(others.map((p) => p.endMs - Math.max(master.endMs, p.startMs))) - routes);
  // A node that joins after the master is done still does its whole chain.
  const workerChain = Math.max(0, median(others.map((p) => p.endMs - p.startMs)) - routes);
  const configured = Math.max(...run.perNode.map((p) => p.endMs));
  const tailMs = run.totalMs - configured;
  return {
    calibratedOn: run.nodes,
    predict(nodes) {
      const joins = lastJoin + Math.max(0, (nodes - run.nodes) / o.joinsPerSecond) * 1000;
      const ms = Math.max(master.endMs + afterMaster, joins + workerChain) + (nodes - 1) * routeMs + tailMs;
      return { nodes, cloudMs: Math.round(ms), thisMachineMs: Math.round(ms + sharedCpuDelay(run, nodes, o.cores, (n) => n)) };
    },
  };
}
