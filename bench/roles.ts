/**
 * What each KubeNow role adds to bring-up, and the shared volume's throughput from one pod.
 * Brings up real clusters on the local provider through the CLI (warm image cache assumed):
 *   baseline: 1 master (edge) + 2 service nodes;
 *   roles:    1 master (edge) + 2 service + 2 storage nodes (replica 2).
 * Per node: milliseconds from its join to its last step, from `sprout status -o json`. Then a pod
 * on service-1 writes a file to the ReadWriteMany volume (dd, fsync) and a pod on service-2 reads
 * it back (a node whose client has nothing cached). Prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { claimPod } from "../test/support/workloads.js";
import { sh } from "./shell.js";

const { values } = parseArgs({ options: { mib: { type: "string", default: "256" } } });
const MIB = Number(values.mib);
const CLI = join(import.meta.dirname, "..", "dist/sprout.cjs");


interface Cluster {
  dir: string;
  kubeconfig: string;
  wallMs: number;
  perNodeMs: Record<string, number>;
  /** Per node: summed durations of its role steps (storage/*, edge/*, the edge certificates). */
  roleStepsMs: Record<string, { storage: number; edge: number }>;
}

const ROLE_STEP = { storage: /^storage\//, edge: /^(edge\/|certs\/edge-)/ };

function roleStepTimes(eventLog: string): { storage: number; edge: number } {
  const out = { storage: 0, edge: 0 };
  for (const line of readFileSync(eventLog, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as { event?: { type: string; stepId?: string; outcome?: string; durationMs?: number } } & { type?: string; stepId?: string; outcome?: string; durationMs?: number };
    const ev = e.event ?? e;
    if (ev.type !== "step.finished" || ev.outcome !== "changed" || !ev.stepId) continue;
    for (const role of ["storage", "edge"] as const) if (ROLE_STEP[role].test(ev.stepId)) out[role] += Math.round(ev.durationMs ?? 0);
  }
  return out;
}

function up(name: string, octet: number, storage: boolean): Cluster {
  const parent = mkdtempSync(join(tmpdir(), "sprout-bench-"));
  const dir = join(parent, name);
  sh(process.execPath, [CLI, "init", dir]);
  let yaml = readFileSync(join(dir, "cluster.yaml"), "utf8").replace("10.240.0.0/24", `10.241.${octet}.0/24`).replace("127.0.0.1:7443", `127.0.0.1:${7500 + octet}`);
  if (storage) {
    yaml = yaml
      .replace("  # - name: storage\n  #   roles: [storage]\n  #   count: 2\n", "  - name: storage\n    roles: [storage]\n    count: 2\n")
      .replace(/replication: 1 /, "replication: 2 ")
      .replace(/volumeSizeGiB: 10 /, `volumeSizeGiB: ${Math.max(2, Math.ceil((MIB * 2) / 1024))} `);
  }
  writeFileSync(join(dir, "cluster.yaml"), yaml);
  const kubeconfig = join(parent, "kubeconfig");
  const t0 = Date.now();
  sh(process.execPath, [CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
  const wallMs = Date.now() - t0;
  const status = JSON.parse(sh(process.execPath, [CLI, "status", dir, "-o", "json"])) as { nodes: { name: string; joinedAt: number; timeline: { name: string; finishedAt?: number; durationMs?: number; detail?: string }[] }[] };
  const perNodeMs = Object.fromEntries(status.nodes.map((n) => [n.name, Math.max(...n.timeline.map((e) => (e.finishedAt ?? n.joinedAt) - n.joinedAt))]));
  // The role's work: every step run of its steps that changed something, from the node's full
  // event log (the timeline keeps only each step's latest pass, often "unchanged").
  const roleStepsMs = Object.fromEntries(status.nodes.map((n) => [n.name, roleStepTimes(join(dir, ".sprout/events", `${n.name}.jsonl`))]));
  return { dir, kubeconfig, wallMs, perNodeMs, roleStepsMs };
}

function down(c: Cluster): void {
  spawnSync(process.execPath, [CLI, "down", c.dir], { stdio: "ignore" });
  rmSync(join(c.dir, ".."), { recursive: true, force: true });
}

/** Runs a pod to completion on `node` with the RWX claim at /data; returns its log. */
function pod(c: Cluster, name: string, node: string, script: string): string {
  const spec = claimPod({ name, node, claim: "bench", script });
  const k = ["--kubeconfig", c.kubeconfig];
  sh("kubectl", [...k, "apply", "-f", "-"], JSON.stringify(spec));
  // kubectl 1.20 has no `wait --for=jsonpath`: poll the phase.
  for (const deadline = Date.now() + 600_000; ; ) {
    const phase = sh("kubectl", [...k, "get", "pod", name, "-o", "jsonpath={.status.phase}"]);
    if (phase === "Succeeded") break;
    if (phase === "Failed" || Date.now() > deadline) throw new Error(`pod ${name} ${phase || "did not finish"}: ${sh("kubectl", [...k, "describe", "pod", name]).slice(-1500)}`);
    spawnSync("sleep", ["1"]);
  }
  return sh("kubectl", [...k, "logs", name]);
}

/** Seconds an operation took inside the pod, from /proc/uptime (busybox has no %N). */
const timed = (cmd: string) => `a=$(cut -d' ' -f1 /proc/uptime); ${cmd}; b=$(cut -d' ' -f1 /proc/uptime); echo "$a $b" | awk '{print $2-$1}'`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const baseline = up("bench-base", 20, false);
down(baseline);
const roles = up("bench-roles", 21, true);
try {
  const claim = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "bench" }, spec: { accessModes: ["ReadWriteMany"], storageClassName: "sprout-shared", resources: { requests: { storage: "1Gi" } } } };
  sh("kubectl", ["--kubeconfig", roles.kubeconfig, "apply", "-f", "-"], JSON.stringify(claim));
  const writeS = Number(pod(roles, "bench-write", "service-1", timed(`dd if=/dev/zero of=/data/bench.bin bs=1048576 count=${MIB} conv=fsync 2>/dev/null`)).trim());
  const readS = Number(pod(roles, "bench-read", "service-2", timed("cat /data/bench.bin >/dev/null")).trim());
  const serviceBase = median(["service-1", "service-2"].map((n) => baseline.perNodeMs[n]!));
  const serviceRoles = median(["service-1", "service-2"].map((n) => roles.perNodeMs[n]!));
  process.stdout.write(
    `${JSON.stringify({
      bench: "roles",
      baseline: { nodes: "1 master+edge, 2 service", upWallMs: baseline.wallMs, perNodeMs: baseline.perNodeMs },
      roles: { nodes: "1 master+edge, 2 service, 2 storage (replica 2)", upWallMs: roles.wallMs, perNodeMs: roles.perNodeMs, roleStepsMs: roles.roleStepsMs },
      added: {
        upWallMs: roles.wallMs - baseline.wallMs,
        serviceNodeMs: serviceRoles - serviceBase,
        storageNodeMs: median(["storage-1", "storage-2"].map((n) => roles.perNodeMs[n]!)),
      },
      sharedVolume: { mib: MIB, writeMiBps: +(MIB / writeS).toFixed(1), readMiBps: +(MIB / readS).toFixed(1), writeSeconds: writeS, readSeconds: readS },
    })}\n`,
  );
} finally {
  down(roles);
}
