import type { Step, StepOutcome } from "../../shared/steps.js";
import type { PlannedChange } from "../host/dry-run-host.js";
import type { RunSummary } from "./executor.js";

/**
 * Human text for `sprout-agent plan`: one line per step with its outcome, then the concrete
 * changes the DryRunHost recorded, grouped under the step that would make them. Plain text with
 * no colour, so it reads the same in a terminal, a log and a test snapshot.
 */

/** One character per outcome, so a long plan can be scanned down its left edge. */
const MARK: Record<StepOutcome, string> = {
  unchanged: "=",
  changed: "+",
  wouldChange: "~",
  failed: "!",
  skipped: "-",
};

const WORDS: Record<StepOutcome, string> = {
  unchanged: "unchanged",
  changed: "changed",
  wouldChange: "would change",
  failed: "failed",
  skipped: "skipped",
};

export interface RenderPlanOptions {
  /** The planned steps, to show each one's description next to its id. */
  steps?: readonly Step[];
  /** Defaults to `summary.plannedChanges`. */
  changes?: readonly PlannedChange[];
}

export function renderPlan(summary: RunSummary, options: RenderPlanOptions = {}): string {
  const changes = options.changes ?? summary.plannedChanges ?? [];
  const descriptions = new Map((options.steps ?? []).map((s) => [s.id, s.description]));
  const entries = Object.entries(summary.outcomes);
  const idWidth = Math.min(40, Math.max(0, ...entries.map(([id]) => id.length)));
  const unchanged = entries.filter(([, r]) => r.outcome === "unchanged").length;

  const lines: string[] = [
    `${summary.changed} to change, ${unchanged} unchanged, ${summary.failed} failed, ${summary.skipped} skipped`,
    "",
  ];
  for (const [id, result] of entries) {
    const why = result.error ?? result.note;
    const description = descriptions.get(id);
    lines.push(
      `  ${MARK[result.outcome]} ${id.padEnd(idWidth)}  ${WORDS[result.outcome]}` +
        (why !== undefined ? `: ${why}` : "") +
        (description !== undefined ? `  (${description})` : ""),
    );
  }

  if (changes.length > 0) {
    lines.push("", "Planned changes:");
    for (const [stepId, group] of groupByStep(changes)) {
      lines.push(`  ${stepId ?? "(no step)"}:`);
      for (const c of group) lines.push(`    ${formatChange(c)}`);
    }
  } else if (summary.changed === 0 && summary.failed === 0) {
    lines.push("", "Nothing to change.");
  }
  return lines.join("\n") + "\n";
}

export function formatChange(change: PlannedChange): string {
  return `${change.action} ${change.target}` + (change.detail !== undefined ? ` (${change.detail})` : "");
}

/** Groups in first-seen order, which is the order the steps recorded them. */
function groupByStep(changes: readonly PlannedChange[]): Map<string | undefined, PlannedChange[]> {
  const groups = new Map<string | undefined, PlannedChange[]>();
  for (const change of changes) {
    const group = groups.get(change.stepId);
    if (group) group.push(change);
    else groups.set(change.stepId, [change]);
  }
  return groups;
}
