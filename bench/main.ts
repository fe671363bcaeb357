/**
 * `npm run bench -- [agent|pki|join|roles|task-cost|dns|metrics|storage|all] [--n N] [--mib N]`: runs the benchmarks, prints their JSON and
 * keeps a copy in bench/results/<name>.json. Each benchmark runs in its own process so one
 * cannot warm or load another.
 *
 * `npm run bench -- deploy [options]` (or just `npm run bench -- --quick`): the pull-vs-push
 * deployment benchmark (bench/deploy.ts), which writes its own results to bench/results/deploy/.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BENCHES: Record<string, string> = {
  agent: "bench/agent-startup.ts",
  pki: "bench/pki-sign.ts",
  join: "bench/join-load.ts",
  roles: "bench/roles.ts",
  "task-cost": "bench/task-cost.ts",
  dns: "bench/cluster-dns.ts",
  metrics: "bench/metrics.ts",
  storage: "bench/storage.ts",
};

const args = process.argv.slice(2);
if (args[0] === "deploy" || args[0]?.startsWith("--")) {
  const deployArgs = args[0] === "deploy" ? args.slice(1) : args;
  const r = spawnSync(process.execPath, ["--import", "tsx", "bench/deploy.ts", ...deployArgs], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
const [which = "all", ...rest] = args;
const names = which === "all" ? Object.keys(BENCHES) : [which];
for (const name of names) {
  const file = BENCHES[name];
  if (!file) {
    process.stderr.write(`unknown benchmark "${name}"; choose ${Object.keys(BENCHES).join(", ")}, all, or deploy\n`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, ["--import", "tsx", file, ...rest], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`benchmark ${name} failed (exit ${r.status})\n`);
    process.exit(1);
  }
  const line = r.stdout.trim().split("\n").at(-1)!;
  process.stdout.write(`${line}\n`);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(join("bench/results", `${name}.json`), JSON.stringify({ measuredAt: new Date().toISOString(), ...JSON.parse(line) }, null, 2) + "\n");
}
