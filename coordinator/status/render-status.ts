import type { ClusterStatus, NodeStatus } from "../../shared/status.js";
import { color, formatMs, table } from "../output.js";

/** One row per node: what `sprout status` prints and `sprout up` ends with. */
export function renderStatus(status: ClusterStatus): string {
  const rows = status.nodes.map((n) => [n.name, n.roles.join(","), n.addresses[0] ?? "-", phaseLabel(n), `${n.appliedRevision ?? "-"}/${n.revision}`, formatMs(totalMs(n)), n.error ?? currentActivity(n)]);
  return `cluster ${status.cluster}: ${status.nodes.length} node(s)\n` + table([["NODE", "ROLES", "ADDRESS", "PHASE", "REV", "TIME", "DETAIL"], ...rows]);
}

function phaseLabel(n: NodeStatus): string {
  if (n.phase === "converged") return color.green(n.phase);
  if (n.phase === "failed") return color.red(n.phase);
  return color.yellow(n.phase);
}

/** From the first phase start to the last finish of the latest agent run. */
export function totalMs(n: NodeStatus): number | undefined {
  const starts = n.timeline.map((t) => t.startedAt).filter((x): x is number => x !== undefined);
  const ends = n.timeline.map((t) => t.finishedAt).filter((x): x is number => x !== undefined && x >= Math.min(...starts));
  if (starts.length === 0 || ends.length === 0) return undefined;
  return Math.max(...ends) - Math.min(...starts);
}

function currentActivity(n: NodeStatus): string {
  const active = n.timeline.filter((t) => t.status === "running" || t.status === "waiting");
  return active.map((t) => (t.status === "waiting" ? `${t.name} (${t.detail})` : t.name)).join(", ");
}
