import { kubenowTopology, type Topology } from "./topology.js";
import type { DeployRun, Side } from "./run-record.js";

/**
 * Predicts deployment time beyond the sizes this machine holds, from the per-step timings of a
 * real run (the calibration run: the smallest size measured for that side).
 *
 * Push (linear strategy): every task of the calibration run keeps its measured wall time per
 * wave of hosts; at n nodes a task applying to h(n) hosts takes ceil(h(n)/forks(n)) waves. h(n)
 * follows the node groups the task ran on (master / service / storage; a task that ran on one
 * host stays on one host), and tasks named after a node (routes to its pod network) come once
 * per node. Fact gathering opens every connection and is a task like the others. The workstation
 * also spends CPU per call (measured): a task can be no faster than its calls' CPU divided by
 * the workstation's cores. In the vanilla scenario the installs are no faster than every node's
 * downloads (measured bytes per node) through the mirror's capped uplink.
 *
 * Pull: nodes join as they boot; the coordinator admits them at most at its measured join rate
 * (bench `join`, 1,000 virtual nodes). The master configures itself; every other node finishes
 * a measured time after the master is done (the API server barrier), or its whole measured chain
 * after its own join when that comes later, plus its route steps, one per peer. The end state
 * (Ready, pods, edge) follows in the measured time.
 *
 * "cloud": every node has its own CPU, as on a cloud. "this machine": the same plus the CPU time
 * the added nodes bring (busy CPU per node in the calibration run) over this machine's cores,
 * since all nodes share them — which is what the real points (n nodes on 2 cores) are validated
 * against.
 */
export interface Prediction {
  nodes: number;
  cloudMs: number;
  thisMachineMs: number;
}

export interface SideModel {
  side: Side;
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The vanilla scenario's installs: what the nodes download from the capped mirror. */
const DOWNLOAD_TASKS = new Set(["install-packages", "download-kubernetes", "download-images"]);

export function pushModel(run: DeployRun, o: { cores: number; workstationCpuMsPerCall: number; forksAt: (n: number) => number; mirrorBytesPerSecond: number }): SideModel {
  const groups = new Map(run.perNode.map((p) => [p.name, groupOf(p.roles)]));
  const nodeNames = [...groups.keys()];
  const calibForks = o.forksAt(run.nodes);
  const t0 = kubenowTopology(run.nodes);
  // Tasks in the order they ran, with their hosts and measured wall time.
  const tasks: { id: string; hosts: string[]; wallMs: number; perNode: boolean }[] = [];
  for (const s of run.steps) {
    let t = tasks.at(-1);
    if (!t || t.id !== s.step) tasks.push((t = { id: s.step, hosts: [], wallMs: 0, perNode: nodeNames.some((n) => s.step.endsWith(`/${n}`)) }));
    t.hosts.push(s.node);
  }
  for (const t of tasks) {
    const calls = run.steps.filter((s) => s.step === t.id && t.hosts.includes(s.node));
    t.wallMs = Math.max(...calls.map((c) => c.startMs + c.durationMs)) - Math.min(...calls.map((c) => c.startMs));
  }
  const hostsAt = (t: (typeof tasks)[number], top: Topology) => {
    if (t.hosts.length === 1 && !t.perNode) return 1;
    const gs = new Set(t.hosts.map((h) => groups.get(h)!));
    const all = [...gs].reduce((n, g) => n + groupSize(top, g), 0);
    // A per-node task runs on every host but the node it names.
    return t.perNode ? Math.max(1, all - 1) : all;
  };
  const waves = (h: number, f: number) => Math.ceil(h / f);
  const lastTask = tasks.reduce((m, t) => Math.max(m, ...run.steps.filter((s) => s.step === t.id).map((s) => s.startMs + s.durationMs)), 0);
  const bootMs = Math.min(...run.steps.map((s) => s.startMs));
  const tailMs = run.totalMs - lastTask;
  return {
    side: run.side,
    calibratedOn: run.nodes,
    predict(nodes) {
      const top = kubenowTopology(nodes);
      const f = o.forksAt(nodes);
      let ms = bootMs + tailMs;
      let downloadsMs = 0;
      for (const t of tasks) {
        const h0 = hostsAt(t, t0);
        const h = hostsAt(t, top);
        const perWave = t.wallMs / waves(h0, calibForks);
        const copies = t.perNode ? nodes / run.nodes : 1;
        const taskMs = copies * Math.max(waves(h, f) * perWave, (h * o.workstationCpuMsPerCall) / o.cores);
        if (DOWNLOAD_TASKS.has(t.id)) downloadsMs += taskMs;
        else ms += taskMs;
      }
      // Downloads share the mirror's uplink: no faster than every node's bytes through it.
      const bytesPerNode = (run.mirrorBytes ?? 0) / run.nodes;
      ms += Math.max(downloadsMs, ((bytesPerNode * nodes) / o.mirrorBytesPerSecond) * 1000);
      return { nodes, cloudMs: Math.round(ms), thisMachineMs: Math.round(ms + sharedCpuDelay(run, nodes, o.cores)) };
    },
  };
}

/**
 * On this machine every node shares its cores: the CPU work the added nodes bring (the
 * calibration run's busy CPU time per node) competes with the critical path instead of running
 * on CPUs of its own.
 */
function sharedCpuDelay(run: DeployRun, nodes: number, cores: number): number {
  return Math.max(0, ((run.cpuBusySeconds * 1000) / run.nodes) * (nodes - run.nodes)) / cores;
}

export function pullModel(run: DeployRun, o: { cores: number; joinsPerSecond: number }): SideModel {
  const master = run.perNode.find((p) => p.roles.includes("master"))!;
  const others = run.perNode.filter((p) => p !== master);
  const lastJoin = Math.max(...run.perNode.map((p) => p.startMs));
  const masterChain = master.endMs - master.startMs;
  // Routes: one step per peer on every node.
  const routeMs = median(run.steps.filter((s) => s.step.startsWith("routes/")).map((s) => s.durationMs));
  const routes = (run.nodes - 1) * routeMs;
  const afterMaster = median(others.map((p) => p.endMs - Math.max(master.endMs, p.startMs))) - routes;
  // A node that joins after the master is done still does its whole chain.
  const workerChain = median(others.map((p) => p.endMs - p.startMs)) - routes;
  const configured = Math.max(...run.perNode.map((p) => p.endMs));
  const tailMs = run.totalMs - configured;
  return {
    side: "pull",
    calibratedOn: run.nodes,
    predict(nodes) {
      const joins = lastJoin + Math.max(0, (nodes - run.nodes) / o.joinsPerSecond) * 1000;
      const masterDone = master.startMs + masterChain;
      const ms = Math.max(masterDone + Math.max(0, afterMaster), joins + workerChain) + (nodes - 1) * routeMs + tailMs;
      return { nodes, cloudMs: Math.round(ms), thisMachineMs: Math.round(ms + sharedCpuDelay(run, nodes, o.cores)) };
    },
  };
}
