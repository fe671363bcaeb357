import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { joinLabel, machineLabel, readJoinResult, readMeta } from "./run-meta.js";

const dir = mkdtempSync(join(tmpdir(), "sprout-run-meta-"));
const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

describe("run metadata", () => {
  it("labels the measuring machine, and says what was not recorded", () => {
    expect(machineLabel({ cores: 2, memoryGiB: 24, cpuModel: "AMD EPYC 7B13", kernel: "6.1.0-18-amd64 #1 SMP Debian" })).toBe("2 cores, 24 GiB, AMD EPYC 7B13, Linux 6.1.0-18-amd64");
    expect(machineLabel({ cores: 2, memoryGiB: 24 })).toBe("2 cores, 24 GiB, CPU model and kernel not recorded");
  });

  it("refuses a meta.json without the measuring machine, naming the field", () => {
    const path = file("old-meta.json", { command: "npm run bench", rttMs: 40, mirrorMBps: 125 });
    expect(() => readMeta(path)).toThrow(/machine/);
  });

  it("shows a reused load test as reused, with its date", () => {
    const j = { nodes: 1000, joinsPerSecond: 41.8, samples: 1000, p50Ms: 11_200, p99Ms: 23_400, maxMs: 23_700, peakRssMiB: 644, measuredAt: "2026-11-22T23:17:25Z" };
    expect(joinLabel(j)).toContain("**p99 23.4 s**");
    expect(joinLabel(j)).toContain("Measured 2026-11-22T23:17:25Z.");
    expect(joinLabel({ ...j, reusedBecause: "this run's load test failed (exit 1)" })).toContain("**Reused from 2026-11-22T23:17:25Z: this run's load test failed (exit 1).**");
  });

  it("drops a p99 an old result took from fewer than 100 samples", () => {
    const path = file("join.json", { measuredAt: "2026-11-01T00:00:00Z", nodes: 50, joinsPerSecond: 20, latency: { samples: 50, p50Ms: 900, p99Ms: 2100, maxMs: 2100 }, coordinatorPeakRssMiB: 100 });
    const j = readJoinResult(path);
    expect(j.p99Ms).toBeUndefined();
    expect(joinLabel(j)).toContain("max 2.1 s (50 samples, too few for a p99)");
  });
});
