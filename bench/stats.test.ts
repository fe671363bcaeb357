import { describe, expect, it } from "vitest";
import { latencyStats, tailLabel } from "./stats.js";

describe("latencyStats", () => {
  it("gives no p99 below 100 samples: it would be the maximum", () => {
    const s = latencyStats(Array.from({ length: 99 }, (_, i) => i + 1));
    expect(s.p99Ms).toBeUndefined();
    expect(s).toMatchObject({ samples: 99, p50Ms: 50, maxMs: 99 });
    expect(tailLabel(s)).toBe("max 0.1 s (99 samples, too few for a p99)");
  });

  it("gives the nearest-rank p99 from 100 samples up", () => {
    const s = latencyStats(Array.from({ length: 1000 }, (_, i) => (i + 1) * 10));
    expect(s).toMatchObject({ samples: 1000, p50Ms: 5000, p99Ms: 9900, maxMs: 10000 });
    expect(tailLabel(s)).toBe("p99 9.9 s");
  });
});
