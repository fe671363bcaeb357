/**
 * The headline benchmark: deployment time of Sprout (pull) against a Kubespray-style push over
 * SSH, on the paper's topology (1 master+edge, service:storage 5:3), real clusters on this
 * machine, then a model for the sizes it cannot hold. See bench/push/ and the README.
 *
 *   npm run bench -- deploy [--quick] [--sizes 8,16] [--repeats 3] [--rtt 40] [--mirror-mbps 125]
 *                           [--variants pull,push-kubespray:vanilla,…] [--out bench/results/deploy]
 *                           [--work /var/lib/sprout/bench]
 *
 * Sides: pull = `sprout up`; push-kubespray = forks 5, pipelining, one connection per host (Kubespray's
 * ansible.cfg on Ansible's defaults); push-tuned = forks = nodes. Scenarios (push only; pull always
 * boots Sprout's image): vanilla = plain Debian, the push side installs everything from the capped
 * mirror first (the paper's comparison); same-image = Sprout's image, only configuration is pushed.
 * --variants picks side:scenario pairs (default: all five). --quick: sizes 4 and 8, one repeat,
 * and three variants: pull, push-kubespray:vanilla (the paper's comparison) and
 * push-tuned:same-image (the best push can do). Each run boots its own machines and removes them.
 * Writes runs.json, runs.csv, timelines/*.json, model.json, summary.md, deploy-time.svg/.png.
 * The coordinator load test (`bench join --n 1000 --streams`) runs too, for the summary.
 * --report re-renders summary, model and charts from the runs already in --out (no measuring).
 * --work (or SPROUT_BENCH_WORK) is where runs keep what is not a result: deployment directories
 * with their PKI, kubeconfigs with client keys, the package mirror. It is outside the repository
 * and mode 0700, so none of it can be committed or read by other users.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureNodeImage } from "../coordinator/providers/local/node-image.js";
import { kubenowTopology, topologySpec } from "./push/topology.js";
import { pullRun } from "./push/pull-run.js";
import { pushRun } from "./push/push-run.js";
import { forksFor, type DeployRun, type Scenario, type Side } from "./push/run-record.js";
import { buildModels, chartSeries, renderSummary, runsCsv, summarize, VARIANTS, variantOf } from "./push/report.js";
import { buildMirrorRoot } from "./push/vanilla.js";
import { deployChartSvg, svgToPng } from "./push/chart.js";
import { readJoinResult, readMeta, thisMachine, type DeployMeta, type JoinRecord } from "./push/run-meta.js";

const REPO = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    repeats: { type: "string" },
    rtt: { type: "string", default: "40" },
    variants: { type: "string" },
    "mirror-mbps": { type: "string", default: "125" },
    out: { type: "string", default: join(REPO, "bench/results/deploy") },
    work: { type: "string", default: process.env.SPROUT_BENCH_WORK ?? "/var/lib/sprout/bench" },
    "join-nodes": { type: "string", default: "1000" },
    report: { type: "boolean", default: false },
  },
});
const sizes = (values.sizes ?? (values.quick ? "4,8" : "8,16")).split(",").map(Number);
const repeats = Number(values.repeats ?? (values.quick ? 1 : 3));
const rttMs = Number(values.rtt);
const QUICK_VARIANTS = ["pull", "push-kubespray:vanilla", "push-tuned:same-image"];
const variants = (values.variants?.split(",") ?? (values.quick ? QUICK_VARIANTS : VARIANTS.map((v) => v.variant))).map((v) => {
  if (!VARIANTS.some((x) => x.variant === v)) throw new Error(`--variants: unknown variant "${v}" (choose from ${VARIANTS.map((x) => x.variant).join(", ")})`);
  const [side, scenario = "same-image"] = v.split(":") as [Side, Scenario?];
  return { side, scenario };
});
if (sizes.some((n) => !Number.isInteger(n) || n < 3)) throw new Error(`--sizes: every size must be a whole number of at least 3 nodes, got ${values.sizes}`);
if (!(repeats >= 1) || !(rttMs >= 0)) throw new Error("--repeats must be at least 1 and --rtt at least 0");
const mirrorMBps = Number(values["mirror-mbps"]);
if (!(mirrorMBps > 0)) throw new Error(`--mirror-mbps must be a positive number of MB/s, got ${values["mirror-mbps"]}`);
const out = values.out!;
const work = values.work!;
mkdirSync(join(out, "timelines"), { recursive: true });
const log = (line: string) => process.stderr.write(`${line}\n`);
const command = `npm run bench -- deploy ${process.argv.slice(2).join(" ")}`.trim();

const JOIN_RESULT = join(REPO, "bench/results/join.json");
/** Only when no coordinator load test result exists (the summary says so). */
const ASSUMED_JOIN_RATE = 45;

let runs: DeployRun[];
let meta: DeployMeta;
if (values.report) {
  // Re-render the summary, model and charts from the runs already in --out, and from the
  // machine and load test recorded with them, not this machine's.
  meta = readMeta(join(out, "meta.json"));
  runs = (JSON.parse(readFileSync(join(out, "runs.json"), "utf8")) as DeployRun[]).map((r) => {
    const t = JSON.parse(readFileSync(join(out, "timelines", timelineName(r)), "utf8")) as Pick<DeployRun, "perNode" | "steps">;
    return { ...r, perNode: t.perNode, steps: t.steps };
  });
} else {
  meta = { command, rttMs, mirrorMBps, measuredAt: new Date().toISOString(), machine: thisMachine() };
  writeFileSync(join(out, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
  runs = await measure();
  meta.join = measureJoin();
  writeFileSync(join(out, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
}
report(runs, meta);

async function measure(): Promise<DeployRun[]> {
  const image = await ensureNodeImage((line) => log(`  ${line}`), join(REPO, "image-build/build-rootfs.sh"));
  log(`node image ${image.version}`);
  let vanilla: { imageRoot: string; mirrorRoot: string; packages: string[] } | undefined;
  if (variants.some((v) => v.scenario === "vanilla" && v.side !== "pull")) {
    log("vanilla image and package mirror (cached after the first run)");
    const built = spawnSync(join(REPO, "image-build/build-rootfs.sh"), { encoding: "utf8", env: { ...process.env, SPROUT_IMAGE_FLAVOR: "vanilla" }, stdio: ["ignore", "pipe", "inherit"] });
    if (built.status !== 0) throw new Error(`building the vanilla image failed (exit ${built.status})`);
    const mirrorDir = join(workDir(), "mirror");
    rmSync(mirrorDir, { recursive: true, force: true });
    const mirror = await buildMirrorRoot(mirrorDir);
    vanilla = { imageRoot: built.stdout.trim().split("\n").at(-1)!, mirrorRoot: mirror.root, packages: mirror.packages };
  }
  const done: DeployRun[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const nodes of sizes) {
      for (const { side, scenario } of variants) {
        const name = `bd${side === "pull" ? "l" : side === "push-kubespray" ? "k" : "t"}${scenario === "vanilla" ? "v" : ""}${nodes}`;
        const { spec, yaml } = topologySpec(name, kubenowTopology(nodes), { nodeCidr: `10.252.${nodes % 250}.0/24`, coordinatorPort: 7700 + (nodes % 250) });
        log(`[${new Date().toISOString().slice(11, 19)}] ${side}${side === "pull" ? "" : `, ${scenario}`}, ${nodes} nodes, repeat ${repeat}/${repeats}`);
        const settings = { side, repeat, rttMs, forks: forksFor(side, nodes), pipelining: true, log };
        const run =
          side === "pull"
            ? await pullRun(spec, yaml, { workDir: workDir(), repeat, log })
            : scenario === "vanilla"
              ? await pushRun(spec, { ...settings, imageRoot: vanilla!.imageRoot, vanilla: { mirrorRoot: vanilla!.mirrorRoot, packages: vanilla!.packages, bytesPerSecond: mirrorMBps * 1e6 } })
              : await pushRun(spec, { ...settings, imageRoot: image.root });
        done.push(run);
        writeFileSync(join(out, "timelines", timelineName(run)), JSON.stringify({ side, scenario, nodes, repeat, perNode: run.perNode, steps: run.steps }, null, 1) + "\n");
        writeFileSync(join(out, "runs.json"), JSON.stringify(done.map(({ steps: _s, perNode: _p, ...r }) => r), null, 2) + "\n");
        writeFileSync(join(out, "runs.csv"), runsCsv(done));
        log(run.ok ? `  done in ${(run.totalMs / 1000).toFixed(1)} s (configured at ${(run.configuredMs / 1000).toFixed(1)} s, Ready at ${(run.readyMs / 1000).toFixed(1)} s)` : `  FAILED after ${(run.totalMs / 1000).toFixed(1)} s: ${run.error}`);
      }
    }
  }
  return done;
}

/** The work directory, made private to its owner (it holds cluster keys while a run lasts). */
function workDir(): string {
  mkdirSync(work, { recursive: true, mode: 0o700 });
  chmodSync(work, 0o700);
  return work;
}

/**
 * The coordinator load test, for the summary's joins/s and p99 at 1,000 nodes. When it fails the
 * bench fails too; the last recorded result is used for the model, marked as reused, with its date.
 */
function measureJoin(): JoinRecord | undefined {
  log(`coordinator load test: ${values["join-nodes"]} virtual nodes`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "bench/join-load.ts"), "--n", values["join-nodes"]!, "--streams"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  const result = r.status === 0 ? (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { failed: number; firstError?: string }) : undefined;
  if (result && result.failed === 0) {
    writeFileSync(JOIN_RESULT, JSON.stringify({ measuredAt: new Date().toISOString(), ...result }, null, 2) + "\n");
    return readJoinResult(JOIN_RESULT);
  }
  const why = result ? `${result.failed} of ${values["join-nodes"]} joins failed in this run's load test (${result.firstError ?? "?"})` : `this run's load test failed (exit ${r.status ?? r.signal})`;
  log(`${why}; the bench fails`);
  process.exitCode = 1;
  if (!existsSync(JOIN_RESULT)) return undefined;
  log(`the pull model uses the last recorded load test (${JOIN_RESULT})`);
  return { ...readJoinResult(JOIN_RESULT), reusedBecause: why };
}

function timelineName(r: Pick<DeployRun, "side" | "scenario" | "nodes" | "repeat">): string {
  return `${variantOf(r).replace(":", "-")}-${r.nodes}-${r.repeat}.json`;
}

function report(all: DeployRun[], m: DeployMeta): void {
  const points = summarize(all);
  const joins = m.join;
  const models = buildModels(all, { cores: m.machine.cores, joinsPerSecond: joins?.joinsPerSecond ?? ASSUMED_JOIN_RATE, mirrorBytesPerSecond: m.mirrorMBps * 1e6 });
  const modelSizes = [8, 16, 32, 64, 128, 256, 512, 1024];
  writeFileSync(join(out, "model.json"), JSON.stringify([...models.entries()].map(([variant, model]) => ({ variant, calibratedOn: model.calibratedOn, predictions: modelSizes.map((n) => model.predict(n)) })), null, 2) + "\n");
  const svg = deployChartSvg("Deployment time vs nodes: pull (Sprout) and push (SSH)", chartSeries(points, models, modelSizes));
  writeFileSync(join(out, "deploy-time.svg"), svg);
  writeFileSync(join(out, "deploy-time.png"), svgToPng(svg));
  const summary = renderSummary({ runs: all, points, models, modelSizes, join: joins, command: m.command, rttMs: m.rttMs, mirrorMBps: m.mirrorMBps, machine: m.machine, measuredAt: m.measuredAt ?? firstMeasured(all), joinRateAssumed: joins ? undefined : ASSUMED_JOIN_RATE });
  writeFileSync(join(out, "summary.md"), summary);
  writeFileSync(join(out, "runs.csv"), runsCsv(all));
  process.stdout.write(summary);
  const failed = all.filter((r) => !r.ok);
  if (failed.length > 0) {
    log(`${failed.length} run(s) failed: ${failed.map((r) => `${variantOf(r)} ${r.nodes}: ${r.error}`).join("; ")}`);
    process.exitCode = 1;
  }
}

function firstMeasured(all: DeployRun[]): string | undefined {
  return all.map((r) => r.measuredAt).sort()[0];
}
