/** Percentiles and rates for benchmark samples (milliseconds). */
export interface LatencyStats {
  samples: number;
  meanMs: number;
  p50Ms: number;
  /** Only from 100 samples up: below that the 99th percentile is the maximum, which maxMs says. */
  p99Ms?: number;
  maxMs: number;
}

/** Fewer samples than this and a "p99" would be the largest sample, so none is given. */
export const P99_MIN_SAMPLES = 100;

export function latencyStats(samplesMs: number[], digits = 2): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    samples: sorted.length,
    meanMs: round(sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length)),
    p50Ms: round(at(0.5)),
    ...(sorted.length >= P99_MIN_SAMPLES ? { p99Ms: round(at(0.99)) } : {}),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

/** "p99 23.4 s", or "max 2.1 s (40 samples, too few for a p99)": the tail, labelled for what it is. */
export function tailLabel(s: Pick<LatencyStats, "samples" | "p99Ms" | "maxMs">): string {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return s.p99Ms !== undefined ? `p99 ${sec(s.p99Ms)}` : `max ${sec(s.maxMs)} (${s.samples} samples, too few for a p99)`;
}

/** The middle value (the mean of the two middle ones for an even count); 0 for none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Peak resident memory of a process (VmHWM), in MiB, from /proc. */
export async function peakRssMiB(pid: number): Promise<number | undefined> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : undefined;
}
