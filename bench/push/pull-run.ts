import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterStatus } from "../../shared/status.js";
import { planNodes } from "../../coordinator/providers/local/node-plan.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { reachEndState } from "./end-state.js";
import { cpuBusySeconds, endStateFields, failedRun, type DeployRun, type StepTiming } from "./run-record.js";

const CLI = join(import.meta.dirname, "../../dist/sprout.cjs");

/**
 * The pull side: `sprout up` on the topology, as a user runs it (the coordinator on this machine,
 * the workstation), then the same end-state check as the push side. Per-node timelines come from
 * the agents' own events (`-o json`).
 */
export async function pullRun(spec: ClusterSpec, yaml: string, o: { workDir: string; repeat: number; log: (line: string) => void }): Promise<DeployRun> {
  const dir = join(o.workDir, spec.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "cluster.yaml"), yaml);
  const kubeconfig = join(o.workDir, `${spec.name}.kubeconfig`);
  const cpu0 = cpuBusySeconds();
  const t0 = Date.now();
  const base = { side: "pull" as const, scenario: "same-image" as const, nodes: planNodes(spec).length, repeat: o.repeat, rttMs: 0, measuredAt: new Date(t0).toISOString() };
  try {
    const up = await cli(["up", dir, "--kubeconfig", kubeconfig, "-o", "json", "--timeout", "20m"], o.log);
    const configuredMs = Date.now() - t0;
    if (up.code !== 0) throw new Error(`sprout up exited ${up.code}: ${up.stderr.slice(-1500)}`);
    const status = JSON.parse(up.stdout) as ClusterStatus;
    const master = status.nodes.find((n) => n.roles.includes("master"))!;
    const end = await reachEndState({ kubeconfig, nodes: planNodes(spec), edgeAddress: master.addresses[0]!, deadlineMs: 600_000 });
    const steps: StepTiming[] = status.nodes.flatMap((n) =>
      n.timeline.filter((e) => e.name.startsWith("step:") && e.startedAt !== undefined && e.durationMs !== undefined).map((e) => ({ node: n.name, step: e.name.slice(5), startMs: e.startedAt! - t0, durationMs: Math.round(e.durationMs!) })),
    );
    return {
      ...base,
      ok: true,
      configuredMs,
      ...endStateFields(t0, cpu0, end),
      perNode: status.nodes.map((n) => ({ name: n.name, roles: n.roles, startMs: n.joinedAt - t0, endMs: Math.max(...n.timeline.map((e) => e.finishedAt ?? n.joinedAt)) - t0 })),
      steps,
    };
  } catch (err) {
    return failedRun(base, err, t0, cpu0);
  } finally {
    await cli(["down", dir], () => {});
    // The cluster is gone: its deployment (PKI) and its admin kubeconfig (a client key) go too.
    await rm(dir, { recursive: true, force: true });
    await rm(kubeconfig, { force: true });
  }
}

function cli(args: string[], log: (line: string) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      for (const line of c.toString().split("\n")) if (/booted|converged|failed|error/i.test(line)) log(`    ${line.trim()}`);
    });
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
