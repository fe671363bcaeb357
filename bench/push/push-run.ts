import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { bootPushMachines } from "./push-machines.js";
import { pushDeploy, type PushSettings } from "./push-deploy.js";
import { reachEndState } from "./end-state.js";
import { cpuBusySeconds, endStateFields, failedRun, type DeployRun, type Side } from "./run-record.js";
import { startPackageMirror } from "./package-mirror.js";
import { installTasks } from "./vanilla.js";

/**
 * The push side, timed like the pull side: boot the same machines from the same image (sshd on,
 * no agent), run the playbook from the workstation through the WAN relay, then the same
 * end-state check.
 */
export async function pushRun(
  spec: ClusterSpec,
  o: PushSettings & {
    side: Side;
    imageRoot: string;
    repeat: number;
    log: (line: string) => void;
    /** The vanilla scenario: the mirror's content (buildMirrorRoot) and its bandwidth for all nodes together. */
    vanilla?: { mirrorRoot: string; packages: string[]; bytesPerSecond: number };
  },
): Promise<DeployRun> {
  const work = await mkdtemp(join(tmpdir(), "sprout-push-"));
  const cpu0 = cpuBusySeconds();
  const own0 = process.cpuUsage();
  const t0 = Date.now();
  const base = { side: o.side, scenario: o.vanilla ? ("vanilla" as const) : ("same-image" as const), nodes: spec.nodeGroups.reduce((n, g) => n + g.count, 0), repeat: o.repeat, rttMs: o.rttMs, forks: o.forks, pipelining: o.pipelining, measuredAt: new Date(t0).toISOString() };
  let machines: Awaited<ReturnType<typeof bootPushMachines>> | undefined;
  let mirror: Awaited<ReturnType<typeof startPackageMirror>> | undefined;
  try {
    machines = await bootPushMachines(spec, { imageRoot: o.imageRoot, stateDir: join(work, "machines") });
    // The "internet" the vanilla nodes install from, on the workstation's side of their network.
    if (o.vanilla) mirror = await startPackageMirror({ root: o.vanilla.mirrorRoot, bytesPerSecond: o.vanilla.bytesPerSecond, listen: { host: machines.network.gateway, port: 0 } });
    const prelude = mirror ? installTasks(mirror.url, o.vanilla!.packages) : undefined;
    const pushed = await pushDeploy(spec, machines.hosts, { ...o, clientKey: machines.clientKey, pkiDir: join(work, "pki"), prelude });
    const configuredMs = Date.now() - t0;
    if (pushed.failedHosts.length > 0) {
      const first = pushed.runs.find((r) => r.outcome === "failed");
      throw new Error(`the playbook failed on ${pushed.failedHosts.join(", ")}: ${first?.task}: ${first?.error ?? ""}`);
    }
    const kubeconfig = join(work, "kubeconfig");
    await writeFile(kubeconfig, pushed.kubeconfig, { mode: 0o600 });
    const end = await reachEndState({ kubeconfig, nodes: machines.hosts, edgeAddress: machines.hosts.find((h) => h.roles.includes("master"))!.address, deadlineMs: 600_000 });
    return {
      ...base,
      ok: true,
      configuredMs,
      ...endStateFields(t0, cpu0, end),
      workstationCpuSeconds: cpuSecondsSince(own0),
      mirrorBytes: mirror?.bytesSent(),
      tasks: pushed.tasks,
      calls: pushed.runs.length,
      perNode: machines.hosts.map((h) => {
        const mine = pushed.runs.filter((r) => r.host === h.name);
        return { name: h.name, roles: h.roles, startMs: Math.min(...mine.map((r) => r.start)) - t0, endMs: Math.max(...mine.map((r) => r.end)) - t0 };
      }),
      steps: pushed.runs.map((r) => ({ node: r.host, step: r.task, startMs: r.start - t0, durationMs: r.end - r.start, remoteMs: r.remoteMs })),
    };
  } catch (err) {
    return failedRun(base, err, t0, cpu0);
  } finally {
    await mirror?.close().catch(() => {});
    await machines?.destroy().catch((err: Error) => o.log(`  cleanup: ${err.message}`));
    await rm(work, { recursive: true, force: true });
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return +((used.user + used.system) / 1e6).toFixed(2);
}
