import { forksFor, type DeployRun, type Scenario } from "./run-record.js";
import { median } from "../stats.js";
import { pullModel, pushModel, type Prediction, type SideModel } from "./model.js";
import type { Series } from "./chart.js";
import { joinLabel, machineLabel, type JoinRecord, type MeasuringMachine } from "./run-meta.js";

// Medians, model errors, the Markdown summary and the CSV of the deployment benchmark.

/** A side in a scenario: what one line of the table and one series of the chart show. */
export type Variant = "pull" | `${"push-kubespray" | "push-tuned"}:${Scenario}`;

export const VARIANTS: { variant: Variant; label: string; color: string }[] = [
  { variant: "pull", label: "Sprout (pull, its image)", color: "#1b9e3e" },
  { variant: "push-kubespray:vanilla", label: "push, Kubespray defaults, vanilla image", color: "#b2182b" },
  { variant: "push-tuned:vanilla", label: "push, tuned, vanilla image", color: "#ef8a62" },
  { variant: "push-kubespray:same-image", label: "push, Kubespray defaults, same image", color: "#5e3c99" },
  { variant: "push-tuned:same-image", label: "push, tuned, same image", color: "#4393c3" },
];

export const variantOf = (r: Pick<DeployRun, "side" | "scenario">): Variant => (r.side === "pull" ? "pull" : `${r.side}:${r.scenario}`);
const labelOf = (v: Variant) => VARIANTS.find((x) => x.variant === v)!.label;

export interface Point {
  variant: Variant;
  nodes: number;
  repeats: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}


export function summarize(runs: DeployRun[]): Point[] {
  const out: Point[] = [];
  for (const { variant } of VARIANTS) {
    const mine = runs.filter((r) => variantOf(r) === variant && r.ok);
    for (const nodes of [...new Set(mine.map((r) => r.nodes))].sort((a, b) => a - b)) {
      const t = mine.filter((r) => r.nodes === nodes).map((r) => r.totalMs);
      out.push({ variant, nodes, repeats: t.length, medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t) });
    }
  }
  return out;
}

/** Calibrated on each side's smallest measured size (its median run). */
export function buildModels(runs: DeployRun[], o: { cores: number; joinsPerSecond: number; mirrorBytesPerSecond: number }): Map<Variant, SideModel> {
  const models = new Map<Variant, SideModel>();
  for (const { variant } of VARIANTS) {
    const ok = runs.filter((r) => variantOf(r) === variant && r.ok);
    const side = ok[0]?.side;
    if (ok.length === 0) continue;
    const smallest = Math.min(...ok.map((r) => r.nodes));
    const candidates = ok.filter((r) => r.nodes === smallest).sort((a, b) => a.totalMs - b.totalMs);
    const calib = candidates[Math.floor((candidates.length - 1) / 2)]!;
    if (side === "pull") models.set(variant, pullModel(calib, o));
    else {
      const cpuPerCall = median(ok.map((r) => ((r.workstationCpuSeconds ?? 0) * 1000) / Math.max(1, r.calls ?? 1)));
      models.set(variant, pushModel(calib, { cores: o.cores, workstationCpuMsPerCall: cpuPerCall, forksAt: (n) => forksFor(side!, n), mirrorBytesPerSecond: o.mirrorBytesPerSecond }));
    }
  }
  return models;
}

export function chartSeries(points: Point[], models: Map<Variant, SideModel>, sizes: number[]): Series[] {
  return VARIANTS.filter((v) => models.has(v.variant)).map((v) => {
    const measured = points.filter((p) => p.variant === v.variant);
    return {
      label: v.label,
      color: v.color,
      measured,
      modelled: sizes.map((n) => ({ nodes: n, ms: models.get(v.variant)!.predict(n).cloudMs })),
    };
  });
}

export interface SummaryInput {
  runs: DeployRun[];
  points: Point[];
  models: Map<Variant, SideModel>;
  modelSizes: number[];
  join?: JoinRecord;
  command: string;
  rttMs: number;
  mirrorMBps: number;
  /** The machine that measured the runs (not the one rendering the report). */
  machine: MeasuringMachine;
  /** When the runs were measured. */
  measuredAt?: string;
  /** Set when the coordinator load test did not run and the pull model used a default rate. */
  joinRateAssumed?: number;
}

export function renderSummary(i: SummaryInput): string {
  const min = (ms: number) => `${(ms / 60_000).toFixed(2)}`;
  const measuredSizes = [...new Set(i.points.map((p) => p.nodes))].sort((a, b) => a - b);
  const present = VARIANTS.filter((v) => i.points.some((p) => p.variant === v.variant));
  const at = (v: Variant, n: number) => i.points.find((p) => p.variant === v && p.nodes === n);
  const predicted = (v: Variant, n: number): Prediction | undefined => i.models.get(v)?.predict(n);
  const lines: string[] = [];
  lines.push(`# Deployment time: Sprout (pull) against push (Kubespray-style over SSH)`, "");
  lines.push(`Measured by \`${i.command}\`${i.measuredAt ? ` on ${i.measuredAt.slice(0, 10)}` : ""}: real clusters on one machine (${machineLabel(i.machine)}). The push workstation reaches the nodes' sshd through a WAN relay with ${i.rttMs} ms RTT. The pull side's agents reach the coordinator directly, as they reach an in-cloud coordinator (#6) on the cloud's network. In the vanilla scenario the push side installs from a package mirror capped at ${i.mirrorMBps} MB/s for all nodes together, reached directly (no added latency, which favours push).`, "");
  lines.push("Time = from the machines starting to boot until every node is Ready, a pod runs on every worker (the service nodes' pods write to the shared GlusterFS volume) and the edge answers HTTP. Minutes; ratio = push / pull.", "");
  lines.push("## Measured", "");
  lines.push(`| nodes | ${present.map((v) => v.label).join(" | ")} |`, `|---:|${present.map(() => "---:|").join("")}`);
  for (const n of measuredSizes) {
    const pull = at("pull", n);
    const cells = present.map((v) => {
      const x = at(v.variant, n);
      if (!x) return "–";
      const ratio = v.variant !== "pull" && pull ? ` **${(x.medianMs / pull.medianMs).toFixed(1)}x**` : "";
      return `${min(x.medianMs)} (${min(x.minMs)}–${min(x.maxMs)}, ${x.repeats} runs)${ratio}`;
    });
    lines.push(`| ${n} | ${cells.join(" | ")} |`);
  }
  lines.push("", "## Modelled (one VM per node, as on a cloud)", "");
  lines.push(`| nodes | ${present.map((v) => v.label).join(" | ")} |`, `|---:|${present.map(() => "---:|").join("")}`);
  for (const n of i.modelSizes) {
    const pull = predicted("pull", n)?.cloudMs;
    const cells = present.map((v) => {
      const x = predicted(v.variant, n)?.cloudMs;
      if (x === undefined) return "–";
      return `${min(x)}${v.variant !== "pull" && pull ? ` (${(x / pull).toFixed(1)}x)` : ""}`;
    });
    lines.push(`| ${n}${measuredSizes.includes(n) ? " (also measured)" : ""} | ${cells.join(" | ")} |`);
  }
  lines.push("", "## Scaling per doubling of the node count", "");
  lines.push("| variant | measured | modelled (cloud) |", "|---|---|---|");
  for (const v of present) {
    const real = measuredSizes.slice(1).map((n) => { const a = at(v.variant, n / 2); const b = at(v.variant, n); return a && b ? `${n / 2}→${n}: ${(b.medianMs / a.medianMs).toFixed(2)}x` : undefined; }).filter(Boolean);
    const model = i.modelSizes.slice(1).filter((n) => i.modelSizes.includes(n / 2)).map((n) => { const a = predicted(v.variant, n / 2); const b = predicted(v.variant, n); return a && b ? `${n / 2}→${n}: ${(b.cloudMs / a.cloudMs).toFixed(2)}x` : undefined; }).filter(Boolean);
    lines.push(`| ${v.label} | ${real.join(", ") || "–"} | ${model.join(", ") || "–"} |`);
  }
  lines.push("", "## The model against every measured point", "");
  lines.push("Calibrated on each variant's smallest measured size. The real points run all nodes on this machine's cores, so they are compared with the model's \"this machine\" variant: plus the measured CPU time of the nodes added to those working at once (all for pull, up to the forks for push) over the shared cores.", "");
  lines.push("| variant | nodes | measured median | model (this machine) | error | model (cloud) |", "|---|---:|---:|---:|---:|---:|");
  for (const p of i.points) {
    const m = predicted(p.variant, p.nodes);
    if (!m) continue;
    const calib = i.models.get(p.variant)!.calibratedOn === p.nodes ? " (calibration)" : "";
    lines.push(`| ${labelOf(p.variant)} | ${p.nodes}${calib} | ${min(p.medianMs)} | ${min(m.thisMachineMs)} | ${(((m.thisMachineMs - p.medianMs) / p.medianMs) * 100).toFixed(0)}% | ${min(m.cloudMs)} |`);
  }
  lines.push("", "## Push: cost per task per host", "");
  lines.push("| variant | nodes | forks | pipelining | tasks | calls | median per call, ms | of which SSH + module start, ms | workstation CPU per call, ms |", "|---|---:|---:|---|---:|---:|---:|---:|---:|");
  for (const r of i.runs.filter((x) => x.side !== "pull" && x.ok && x.repeat === 1)) {
    const calls = r.steps.filter((s) => s.remoteMs !== undefined);
    const per = median(calls.map((s) => s.durationMs));
    const overhead = median(calls.map((s) => s.durationMs - (s.remoteMs ?? 0)));
    lines.push(`| ${labelOf(variantOf(r))} | ${r.nodes} | ${r.forks} | ${r.pipelining ? "on" : "off"} | ${r.tasks} | ${r.calls} | ${per.toFixed(0)} | ${overhead.toFixed(0)} | ${(((r.workstationCpuSeconds ?? 0) * 1000) / Math.max(1, r.calls ?? 1)).toFixed(1)} |`);
  }
  const reruns = i.runs.filter((r) => r.rerunOf);
  if (reruns.length > 0) {
    lines.push("", "## Re-runs", "");
    for (const r of reruns) lines.push(`- ${labelOf(variantOf(r))}, ${r.nodes} nodes, repeat ${r.repeat}: the first attempt (${r.rerunOf!.measuredAt}) failed with "${r.rerunOf!.error ?? "?"}" and was run again.`);
  }
  if (i.joinRateAssumed !== undefined) lines.push("", `**No coordinator load test result: the pull model assumed ${i.joinRateAssumed} joins/s.**`);
  if (i.join) {
    lines.push("", "## Coordinator under load", "");
    lines.push(joinLabel(i.join));
  }
  lines.push("");
  return lines.join("\n");
}

export function runsCsv(runs: DeployRun[]): string {
  const cols = ["side", "scenario", "nodes", "repeat", "ok", "totalMs", "configuredMs", "readyMs", "podsMs", "edgeMs", "cpuBusySeconds", "workstationCpuSeconds", "mirrorBytes", "rttMs", "forks", "pipelining", "tasks", "calls", "measuredAt", "error"] as const;
  const cell = (v: unknown) => (v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [cols.join(","), ...runs.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
