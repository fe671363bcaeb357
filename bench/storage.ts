/**
 * Storage on a real cluster (local provider, warm image cache assumed): 1 master (edge), 2
 * service nodes and 2 storage nodes (one distributed GlusterFS volume, replica 1) from
 * `sprout up`, then
 * - bind time of a shared claim (sprout-shared): `--claims N` created one at a time (default 10),
 *   each from `kubectl apply` to Bound, and N more created at once, until all are Bound;
 * - bind time of a local claim (sprout-local, WaitForFirstConsumer): claim and pod applied
 *   together, to Bound;
 * - throughput of one claim from one pod (dd of `--mib` MiB, conv=fsync, default 256), and of
 *   4 pods at once (2 per service node) each on its own claim, against the whole volume written
 *   from the service nodes' mount the same way;
 * - the cost of the quota: the same write, and the creation of 2000 small files, into a
 *   directory with a limit and one without, from a service node's mount.
 * Prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { latencyStats } from "./stats.js";
import { claimPod } from "../test/support/workloads.js";
import { sh } from "./shell.js";

const { values } = parseArgs({ options: { claims: { type: "string", default: "10" }, mib: { type: "string", default: "256" } } });
const CLAIMS = Number(values.claims);
const MIB = Number(values.mib);
const CLI = join(import.meta.dirname, "..", "dist/sprout.cjs");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const parent = mkdtempSync(join(tmpdir(), "sprout-bench-"));
const cluster = "bench-storage";
const dir = join(parent, cluster);
const kubeconfig = join(parent, "kubeconfig");
const k = (...args: string[]) => sh("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=60s", ...args]);
const apply = (objects: object[]) => sh("kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
const claim = (name: string, size: string, cls?: string, modes = ["ReadWriteMany"]) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name }, spec: { accessModes: modes, ...(cls ? { storageClassName: cls } : {}), resources: { requests: { storage: size } } } });

async function node(name: string) {
  const stateDir = join(dir, ".sprout/machines", name);
  const record = JSON.parse(readFileSync(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address">;
  const m = await findMachine({ cluster, node: name, stateDir, ...record });
  if (!m) throw new Error(`${name} is not running`);
  return async (script: string) => {
    const r = await m.exec(["sh", "-c", script], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`${name}: ${script}: ${r.stderr.slice(-500)}`);
    return r.stdout;
  };
}

/** Phase of every object of a kind, by name (one list: `get <kind> <one name>` is not a list). */
function phases(kind: string): Map<string, string> {
  const out = k("get", kind, "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}");
  return new Map(out.trim().split(/\s+/).filter(Boolean).map((l) => l.split("=") as [string, string]));
}

async function untilBound(names: string[]): Promise<void> {
  for (;;) {
    const now = phases("pvc");
    if (names.every((n) => now.get(n) === "Bound")) return;
    await sleep(100);
  }
}

/** MiB/s of `dd` writing `mib` MiB with an fsync at the end, as dd reports it over its whole run. */
// Timed with /proc/uptime, not dd's own report: the toolbox's busybox dd prints no time.
const TIMED = (cmd: string) => `s=$(cut -d' ' -f1 /proc/uptime); ${cmd} >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e" | awk '{printf "%.2f s,\\n", $2 - $1}'`;
const DD = (path: string, mib: number) => TIMED(`dd if=/dev/zero of=${path} bs=1M count=${mib} conv=fsync`);
function mibPerSecond(ddLine: string, mib: number): number {
  const secs = /([0-9.]+) ?s(?:econds)?,/.exec(ddLine)?.[1];
  if (!secs) throw new Error(`no time in dd's output: ${ddLine}`);
  return +(mib / Number(secs)).toFixed(1);
}

/** A pod the scheduler places (on service-1): WaitForFirstConsumer binds only after scheduling, never for `nodeName` pods. */
function scheduledPod(name: string, claimName: string): object {
  const pod = claimPod({ name, node: "service-1", claim: claimName, script: "true" }) as { spec: Record<string, unknown> };
  const { nodeName: _placed, ...spec } = pod.spec;
  return { ...pod, spec: { ...spec, nodeSelector: { "kubernetes.io/hostname": "service-1" } } };
}

/** Runs pods to completion; the output of each. */
async function runPods(pods: { name: string; node: string; claim: string; script: string }[]): Promise<string[]> {
  apply(pods.map((p) => claimPod(p)));
  const names = pods.map((p) => p.name);
  for (;;) {
    const now = phases("pods");
    if (names.every((n) => now.get(n) === "Succeeded" || now.get(n) === "Failed")) break;
    await sleep(500);
  }
  const out = names.map((n) => k("logs", n));
  k("delete", "pods", ...names, "--wait=true");
  return out;
}

try {
  sh(process.execPath, [CLI, "init", dir]);
  const yaml = readFileSync(join(dir, "cluster.yaml"), "utf8")
    .replace("10.240.0.0/24", "10.241.32.0/24")
    .replace("127.0.0.1:7443", "127.0.0.1:7532")
    .replace("  # - name: storage\n  #   roles: [storage]\n  #   count: 2\n", "  - name: storage\n    roles: [storage]\n    count: 2\n")
    .replace(/volumeSizeGiB: 10 /, "volumeSizeGiB: 3 ");
  writeFileSync(join(dir, "cluster.yaml"), yaml);
  sh(process.execPath, [CLI, "up", dir, "--timeout", "10m", "--kubeconfig", kubeconfig]);

  // Bind time, shared: one at a time, then a burst.
  const oneByOne: number[] = [];
  for (let i = 0; i < CLAIMS; i++) {
    const t = performance.now();
    apply([claim(`seq-${i}`, "16Mi", "sprout-shared")]);
    await untilBound([`seq-${i}`]);
    oneByOne.push(performance.now() - t);
  }
  const burstNames = Array.from({ length: CLAIMS }, (_, i) => `burst-${i}`);
  const b0 = performance.now();
  apply(burstNames.map((n) => claim(n, "16Mi", "sprout-shared")));
  await untilBound(burstNames);
  const burstMs = performance.now() - b0;
  k("delete", "pvc", ...burstNames, ...Array.from({ length: CLAIMS }, (_, i) => `seq-${i}`), "--wait=false");

  // Bind time, local: WaitForFirstConsumer binds when the scheduler placed the pod.
  const local: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    apply([claim(`local-${i}`, "1Gi", undefined, ["ReadWriteOnce"]), scheduledPod(`local-${i}`, `local-${i}`)]);
    await untilBound([`local-${i}`]);
    local.push(performance.now() - t);
  }
  k("delete", "pods", ...local.map((_, i) => `local-${i}`), "--wait=true");
  k("delete", "pvc", ...local.map((_, i) => `local-${i}`), "--wait=false");

  // Throughput: one pod on one claim; four pods on four claims; the whole volume from the nodes.
  const size = `${MIB * 2}Mi`;
  apply(["tp-0", "tp-1", "tp-2", "tp-3"].map((n) => claim(n, size, "sprout-shared")));
  await untilBound(["tp-0", "tp-1", "tp-2", "tp-3"]);
  const [single] = await runPods([{ name: "one", node: "service-1", claim: "tp-0", script: DD("/data/one", MIB) }]);
  const readBack = await runPods([{ name: "read", node: "service-2", claim: "tp-0", script: TIMED("dd if=/data/one of=/dev/null bs=1M") }]);
  const per = MIB / 2;
  const t4 = performance.now();
  const four = await runPods(["tp-0", "tp-1", "tp-2", "tp-3"].map((c, i) => ({ name: `four-${i}`, node: i % 2 ? "service-2" : "service-1", claim: c, script: DD(`/data/four`, per) })));
  const fourWall = (performance.now() - t4) / 1000;
  const s1 = await node("service-1");
  const s2 = await node("service-2");
  const w0 = performance.now();
  const whole = await Promise.all([s1(`mkdir -p /mnt/sprout-shared/bench-whole && ${DD("/mnt/sprout-shared/bench-whole/a", per * 2)}`), s2(`mkdir -p /mnt/sprout-shared/bench-whole && ${DD("/mnt/sprout-shared/bench-whole/b", per * 2)}`)]);
  const wholeWall = (performance.now() - w0) / 1000;

  // The cost of the quota: the same client, a limited and an unlimited directory.
  const limitedDir = `/mnt/sprout-shared/${k("get", "pvc", "tp-3", "-o", "jsonpath={.spec.volumeName}")}`;
  await s1(`rm -f ${limitedDir}/* /mnt/sprout-shared/bench-whole/*; mkdir -p /mnt/sprout-shared/bench-free`);
  const cost = { limited: { writeMiBps: 0, createFilesPerSec: 0 }, unlimited: { writeMiBps: 0, createFilesPerSec: 0 } };
  for (const [key, d] of [["limited", limitedDir], ["unlimited", "/mnt/sprout-shared/bench-free"]] as const) {
    cost[key].writeMiBps = mibPerSecond(await s1(DD(`${d}/big`, MIB)), MIB);
    await s1(`rm -f ${d}/big`);
    const t = performance.now();
    await s1(`mkdir -p ${d}/many && cd ${d}/many && i=0; while [ $i -lt 2000 ]; do echo x > f$i; i=$((i+1)); done`);
    cost[key].createFilesPerSec = Math.round(2000 / ((performance.now() - t) / 1000));
  }

  process.stdout.write(
    `${JSON.stringify({
      bench: "storage",
      cluster: "1 master+edge, 2 service nodes, 2 storage nodes (distributed GlusterFS volume, replica 1, XFS on loop devices), Kubernetes 1.20.2, local provider",
      bindShared: { oneAtATime: latencyStats(oneByOne, 0), burst: { claims: CLAIMS, allBoundMs: Math.round(burstMs) } },
      bindLocal: latencyStats(local, 0),
      throughputMiBps: {
        onePodOneClaim: { write: mibPerSecond(single!, MIB), readOtherNode: mibPerSecond(readBack[0]!, MIB), mib: MIB },
        fourPodsFourClaims: { eachWrite: four.map((o) => mibPerSecond(o, per)), aggregate: +((per * 4) / fourWall).toFixed(1), mibEach: per },
        wholeVolumeTwoNodes: { eachWrite: whole.map((o) => mibPerSecond(o, per * 2)), aggregate: +((per * 4) / wholeWall).toFixed(1), mibEach: per * 2 },
      },
      quotaCost: cost,
    })}\n`,
  );
} finally {
  spawnSync(process.execPath, [CLI, "down", dir], { stdio: "ignore" });
  rmSync(parent, { recursive: true, force: true });
}
