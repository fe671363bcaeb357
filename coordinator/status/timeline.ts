import type { AgentEvent } from "../../shared/events.js";
import type { NodePhase, NodeStatus, TimelineEntry } from "../../shared/status.js";
import type { NodeRecord } from "../state/records.js";

/**
 * Folds a node's agent events into its timeline: one entry per phase and per step of the most
 * recent agent run, plus the join itself, and the node's current phase.
 */
export function buildNodeStatus(node: NodeRecord, events: readonly AgentEvent[], connected: boolean): NodeStatus {
  const runId = events.at(-1)?.runId;
  const run = runId ? events.filter((e) => e.runId === runId) : [];
  const entries = new Map<string, TimelineEntry>();
  entries.set("join", { name: "join", finishedAt: node.joinedAt, status: "finished" });
  let appliedRevision: number | undefined;
  let error: string | undefined;
  let lastConverged: Extract<AgentEvent, { type: "converged" }> | undefined;

  for (const e of run) {
    switch (e.type) {
      case "phase": {
        const entry = entries.get(e.phase) ?? { name: e.phase, status: "running" as const };
        if (e.status === "started") Object.assign(entry, { startedAt: e.ts, status: "running" });
        else Object.assign(entry, { finishedAt: e.ts, durationMs: e.durationMs, status: e.status === "failed" ? "failed" : "finished", detail: e.message });
        if (e.status === "failed") error = `${e.phase}: ${e.message ?? "failed"}`;
        entries.set(e.phase, entry);
        break;
      }
      case "step.started":
        entries.set(`step:${e.stepId}`, { name: `step:${e.stepId}`, startedAt: e.ts, status: "running" });
        break;
      case "step.waiting": {
        const entry = entries.get(`step:${e.stepId}`) ?? { name: `step:${e.stepId}`, status: "waiting" as const };
        entries.set(`step:${e.stepId}`, { ...entry, status: "waiting", detail: e.waitingFor });
        break;
      }
      case "step.finished": {
        const entry = entries.get(`step:${e.stepId}`) ?? { name: `step:${e.stepId}`, status: "finished" as const };
        entries.set(`step:${e.stepId}`, { ...entry, status: "finished", finishedAt: e.ts, durationMs: e.durationMs, detail: e.outcome });
        break;
      }
      case "step.failed": {
        const entry = entries.get(`step:${e.stepId}`) ?? { name: `step:${e.stepId}`, status: "failed" as const };
        entries.set(`step:${e.stepId}`, { ...entry, status: "failed", finishedAt: e.ts, durationMs: e.durationMs, detail: e.reason });
        error = `step ${e.stepId}: ${e.reason}`;
        break;
      }
      case "converged":
        lastConverged = e;
        appliedRevision = e.revision;
        if (e.failed === 0) error = undefined;
        break;
      case "log":
        break;
    }
  }
  const timeline = [...entries.values()];
  return {
    name: node.name,
    roles: node.roles,
    addresses: node.addresses,
    phase: phaseOf(timeline, lastConverged, error),
    joinedAt: node.joinedAt,
    lastEventAt: run.at(-1)?.ts,
    revision: node.manifestRevision,
    appliedRevision,
    connected,
    timeline,
    error,
  };
}

function phaseOf(timeline: TimelineEntry[], converged: { failed: number } | undefined, error: string | undefined): NodePhase {
  if (error) return "failed";
  if (converged && converged.failed === 0) return "converged";
  if (timeline.some((t) => t.status === "waiting")) return "waiting";
  if (timeline.length > 1) return "configuring";
  return "joined";
}

/** CSV export of timelines: one row per node and entry. */
export function timelinesToCsv(nodes: NodeStatus[]): string {
  const rows = [["node", "entry", "status", "startedAt", "finishedAt", "durationMs", "detail"]];
  for (const n of nodes) {
    for (const t of n.timeline) {
      rows.push([n.name, t.name, t.status, iso(t.startedAt), iso(t.finishedAt), t.durationMs?.toFixed(0) ?? "", t.detail ?? ""]);
    }
  }
  return rows.map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

function iso(ts: number | undefined): string {
  return ts === undefined ? "" : new Date(ts).toISOString();
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
