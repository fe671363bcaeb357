import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem, version } from "node:os";
import { z } from "zod";
import { parseJsonWith } from "../../shared/validate.js";
import { tailLabel } from "../stats.js";

/**
 * `meta.json` beside the deployment runs: how and where they were measured. It is written when
 * the runs are measured and read back by `--report`, so a report rendered later, or on another
 * machine, still describes the machine that measured (its cores also calibrate the model's
 * "this machine" variant) and the coordinator load test that ran with those runs.
 */
export const MeasuringMachine = z.strictObject({
  cores: z.number().int().positive(),
  memoryGiB: z.number().int().positive(),
  /** Absent for runs measured before it was recorded. */
  cpuModel: z.string().optional(),
  kernel: z.string().optional(),
});
export type MeasuringMachine = z.infer<typeof MeasuringMachine>;

/** The coordinator load test the pull model used. */
export const JoinRecord = z.strictObject({
  nodes: z.number().int().positive(),
  joinsPerSecond: z.number().positive(),
  samples: z.number().int().nonnegative(),
  p50Ms: z.number(),
  /** Only from 100 samples up (bench/stats.ts). */
  p99Ms: z.number().optional(),
  maxMs: z.number(),
  peakRssMiB: z.number(),
  measuredAt: z.string(),
  /** The load test of this run failed, and this is an earlier result (the bench then fails too). */
  reusedBecause: z.string().optional(),
});
export type JoinRecord = z.infer<typeof JoinRecord>;

export const DeployMeta = z.strictObject({
  command: z.string(),
  rttMs: z.number().nonnegative(),
  mirrorMBps: z.number().positive(),
  /** When the first run started. */
  measuredAt: z.string().optional(),
  machine: MeasuringMachine,
  join: JoinRecord.optional(),
});
export type DeployMeta = z.infer<typeof DeployMeta>;

/** The machine this process runs on, for runs measured now. */
export function thisMachine(): MeasuringMachine {
  return { cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), cpuModel: cpus()[0]?.model.trim(), kernel: `${release()} ${version()}` };
}

export function readMeta(file: string): DeployMeta {
  return parseJsonWith(DeployMeta, readFileSync(file, "utf8"), file);
}

/** bench/results/join.json as `bench join` writes it. */
const JoinResult = z.object({
  measuredAt: z.string(),
  nodes: z.number(),
  joinsPerSecond: z.number(),
  latency: z.object({ samples: z.number(), p50Ms: z.number(), p99Ms: z.number().optional(), maxMs: z.number() }),
  coordinatorPeakRssMiB: z.number(),
});

export function readJoinResult(file: string): JoinRecord {
  const j = parseJsonWith(JoinResult, readFileSync(file, "utf8"), file);
  const { samples, p50Ms, maxMs } = j.latency;
  // Results from before bench/stats.ts dropped a p99 from too few samples may still carry one.
  const p99Ms = samples >= 100 ? j.latency.p99Ms : undefined;
  return { nodes: j.nodes, joinsPerSecond: j.joinsPerSecond, samples, p50Ms, ...(p99Ms !== undefined ? { p99Ms } : {}), maxMs, peakRssMiB: j.coordinatorPeakRssMiB, measuredAt: j.measuredAt };
}

export function machineLabel(m: MeasuringMachine): string {
  const detail = [m.cpuModel, m.kernel && `Linux ${m.kernel.split(" ")[0]}`].filter(Boolean).join(", ");
  return `${m.cores} cores, ${m.memoryGiB} GiB, ${detail || "CPU model and kernel not recorded"}`;
}

export function joinLabel(j: JoinRecord): string {
  const reused = j.reusedBecause ? ` **Reused from ${j.measuredAt}: ${j.reusedBecause}.**` : ` Measured ${j.measuredAt}.`;
  return `${j.nodes} virtual nodes joining at once (real TLS, CSR signing, event streams, manifest refetches): **${j.joinsPerSecond} joins/s**, p50 ${(j.p50Ms / 1000).toFixed(1)} s, **${tailLabel(j)}**, coordinator peak ${j.peakRssMiB} MiB.${reused}`;
}
