import type { KubeletSummary } from "./kubelet-summary.js";

/** One object's resource usage over a window, as metrics.k8s.io reports it. */
export interface Usage {
  /** End of the window (the kubelet's sample time), ms since the epoch. */
  timestamp: number;
  windowMs: number;
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface PodUsage {
  namespace: string;
  name: string;
  timestamp: number;
  windowMs: number;
  containers: { name: string; cpuNanoCores: number; memoryBytes: number }[];
}

interface CpuPoint {
  timeMs: number;
  coreNs: number;
}

interface Rate {
  timestamp: number;
  windowMs: number;
  cpuNanoCores: number;
}

/** A CPU counter's newest point, and its rate since the point before. */
interface Series {
  cur: CpuPoint;
  rate?: Rate;
}

interface NodeEntry {
  recordedAt: number;
  cpu?: Series;
  /** Container series by pod UID, container name and start time: a restart starts afresh. */
  containers: Map<string, Series>;
  usage?: Usage;
  pods: PodUsage[];
}

/**
 * The last two samples of every node and container, and the usage they give. CPU usage is the
 * rate of the kubelet's cumulative CPU time between two scrapes, computed here rather than taken
 * from the kubelet's own `usageNanoCores` (which the kubelet computes only between *its* callers'
 * requests, so it depends on who else asked). Memory is the working set, what the kubelet evicts
 * on and what metrics-server reports. A pod is reported only when every container has both.
 */
export class MetricsStore {
  private readonly nodes = new Map<string, NodeEntry>();

  record(nodeName: string, summary: KubeletSummary, now: number): void {
    const before = this.nodes.get(nodeName);
    const entry: NodeEntry = { recordedAt: now, containers: new Map(), pods: [] };
    entry.cpu = advance(before?.cpu, cpuPoint(summary.node.cpu));
    const memory = summary.node.memory?.workingSetBytes;
    if (entry.cpu?.rate && memory !== undefined) entry.usage = { ...entry.cpu.rate, memoryBytes: memory };
    for (const pod of summary.pods) {
      const containers: PodUsage["containers"] = [];
      let window: { timestamp: number; windowMs: number } | undefined;
      let complete = pod.containers.length > 0;
      for (const c of pod.containers) {
        const key = `${pod.podRef.uid}/${c.name}/${c.startTime ?? ""}`;
        const series = advance(before?.containers.get(key), cpuPoint(c.cpu));
        if (series) entry.containers.set(key, series);
        const r = series?.rate;
        const bytes = c.memory?.workingSetBytes;
        if (!r || bytes === undefined) {
          complete = false;
          continue;
        }
        containers.push({ name: c.name, cpuNanoCores: r.cpuNanoCores, memoryBytes: bytes });
        if (!window || r.timestamp > window.timestamp) window = r;
      }
      if (complete && window) entry.pods.push({ namespace: pod.podRef.namespace, name: pod.podRef.name, timestamp: window.timestamp, windowMs: window.windowMs, containers });
    }
    this.nodes.set(nodeName, entry);
  }

  /** Drops nodes not recorded since `oldest` (ms): deleted, or unreachable for too long. */
  prune(oldest: number): void {
    for (const [name, e] of this.nodes) if (e.recordedAt < oldest) this.nodes.delete(name);
  }

  forget(nodeName: string): void {
    this.nodes.delete(nodeName);
  }

  node(name: string): Usage | undefined {
    return this.nodes.get(name)?.usage;
  }

  /** Every pod's usage by `<namespace>/<name>`; when a pod moved, the newest sample wins. */
  podIndex(): Map<string, PodUsage> {
    const index = new Map<string, PodUsage>();
    for (const e of this.nodes.values())
      for (const p of e.pods) {
        const key = `${p.namespace}/${p.name}`;
        const seen = index.get(key);
        if (!seen || p.timestamp > seen.timestamp) index.set(key, p);
      }
    return index;
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }
}

function cpuPoint(cpu: { time: string; usageCoreNanoSeconds?: number } | undefined): CpuPoint | undefined {
  if (!cpu || cpu.usageCoreNanoSeconds === undefined) return undefined;
  const timeMs = Date.parse(cpu.time);
  return Number.isFinite(timeMs) ? { timeMs, coreNs: cpu.usageCoreNanoSeconds } : undefined;
}

/**
 * The series after a new point. The same sample again (the kubelet had not measured anew) keeps
 * the rate it had, so a fast scrape never makes usage vanish for a round.
 */
function advance(old: Series | undefined, point: CpuPoint | undefined): Series | undefined {
  if (!point) return undefined;
  if (old && point.timeMs === old.cur.timeMs) return old;
  return { cur: point, rate: rate(old?.cur, point) };
}

/** CPU rate between two points; none when time or the counter went back (a reset). */
function rate(before: CpuPoint | undefined, after: CpuPoint): Rate | undefined {
  if (!before || after.timeMs <= before.timeMs || after.coreNs < before.coreNs) return undefined;
  const windowMs = after.timeMs - before.timeMs;
  return { timestamp: after.timeMs, windowMs, cpuNanoCores: Math.round(((after.coreNs - before.coreNs) * 1000) / windowMs) };
}
