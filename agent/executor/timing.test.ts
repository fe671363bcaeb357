import { describe, expect, it } from "vitest";
import { backoffDelay, sleep } from "../../shared/backoff.js";
import { withTimeout } from "./timing.js";

describe("timing", () => {
  it("grows exponentially to the cap and jitters downwards only", () => {
    const b = { initialMs: 500, maxMs: 10_000, jitter: 0.5 };
    expect([1, 2, 3, 6, 20].map((a) => backoffDelay(a, b, () => 1))).toEqual([500, 1000, 2000, 10_000, 10_000]);
    expect(backoffDelay(2, b, () => 0)).toBe(500);
  });

  it("ends sleeps and timeouts at once on abort", async () => {
    const c = new AbortController();
    const started = Date.now();
    setTimeout(() => c.abort(new Error("stop")), 20);
    await expect(sleep(10_000, c.signal)).rejects.toThrow("stop");
    await expect(withTimeout(new Promise(() => {}), 10_000, () => new Error("late"), c.signal)).rejects.toThrow("stop");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("times out hanging work", async () => {
    await expect(withTimeout(new Promise(() => {}), 20, () => new Error("took too long"))).rejects.toThrow("took too long");
    expect(await withTimeout(Promise.resolve(5), 1000, () => new Error("x"))).toBe(5);
  });
});
