/**
 * The single-file agent's budget: bundle size and cold start (`node dist/sprout-agent.cjs
 * version`: load + parse the whole bundle, no network), median of repeated runs.
 *
 *   node --import tsx bench/agent-startup.ts [--n 20]
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { latencyStats } from "./stats.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "20" } } });
const n = Number(values.n);
const bundle = "dist/sprout-agent.cjs";
const samples: number[] = [];
for (let i = 0; i < n + 2; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [bundle, "version"]);
  if (i >= 2) samples.push(performance.now() - t); // two warm-ups fill the page cache
}
const baseline: number[] = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  execFileSync(process.execPath, ["-e", "0"]);
  baseline.push(performance.now() - t);
}
const result = {
  bench: "agent-startup",
  bundleBytes: statSync(bundle).size,
  coldStart: latencyStats(samples),
  nodeBaseline: latencyStats(baseline),
};
process.stdout.write(JSON.stringify(result) + "\n");
