import type { ClusterStatus, NodeStatus } from "../../../shared/status.js";
import { timelinesToCsv } from "../../status/timeline.js";
import { openClusterApi } from "../cluster-api.js";
import { color, formatMs, printJson, table, type OutputFormat } from "../output.js";

/** `sprout status [--watch] [-o json|csv]`: one row per node, or the full timelines as JSON/CSV. */
export async function statusCommand(dir: string, watch: boolean, format: OutputFormat): Promise<number> {
  const api = await openClusterApi(dir);
  try {
    for (;;) {
      const status = await api.status();
      if (format === "json") printJson(status);
      else if (format === "csv") process.stdout.write(timelinesToCsv(status.nodes));
      else process.stdout.write((watch && process.stdout.isTTY ? "\x1b[2J\x1b[H" : "") + renderStatus(status));
      if (!watch) return status.nodes.some((n) => n.phase === "failed") ? 1 : 0;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await api.close();
  }
}

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
