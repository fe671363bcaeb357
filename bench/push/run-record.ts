import { readFileSync } from "node:fs";

/**
 * One deployment as the benchmark records it, for either side. Times are milliseconds from the
 * moment the machines start booting (pull: `sprout up` starts; push: the workstation boots the
 * machines and then connects).
 */
export type Side = "pull" | "push-kubespray" | "push-tuned";
export type Scenario = "same-image" | "vanilla";

/** Ansible's (and Kubespray's) default of 5 forks, or one per node when tuned. */
export function forksFor(side: Side, nodes: number): number {
  return side === "push-tuned" ? nodes : 5;
}

export interface NodeSpan {
  name: string;
  roles: string[];
  /** Joined (pull) / first task on the host (push). */
  startMs: number;
  /** Its last step finished. */
  endMs: number;
}

export interface StepTiming {
  node: string;
  step: string;
  startMs: number;
  durationMs: number;
  /** Push: the module's own time on the host; the rest of durationMs is the SSH round trips and the module's start. */
  remoteMs?: number;
}

export interface DeployRun {
  side: Side;
  scenario: Scenario;
  nodes: number;
  repeat: number;
  rttMs: number;
  forks?: number;
  pipelining?: boolean;
  ok: boolean;
  error?: string;
  /** Boot → all nodes Ready, a pod running on every worker, the edge answering. */
  totalMs: number;
  /** Boot → every node's configuration done (pull: all agents converged; push: the playbook ended). */
  configuredMs: number;
  readyMs: number;
  podsMs: number;
  edgeMs: number;
  /** Busy CPU time of the whole machine during the run (2 cores here), in seconds. */
  cpuBusySeconds: number;
  /** Push: CPU time of the workstation process (ssh2, the relays, signing). */
  workstationCpuSeconds?: number;
  /** Vanilla: bytes the package mirror sent (all nodes). */
  mirrorBytes?: number;
  /** Push: distinct tasks and task × host calls. */
  tasks?: number;
  calls?: number;
  perNode: NodeSpan[];
  steps: StepTiming[];
  measuredAt: string;
  /** This run replaced one of the same variant, size and repeat that failed. */
  rerunOf?: { error?: string; measuredAt: string };
}

/** Busy CPU seconds of the machine so far (all cores), from /proc/stat. */
export function cpuBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** The timed fields of a run that reached the end state. */
export function endStateFields(t0: number, cpu0: number, end: { readyAt: number; podsAt: number; edgeAt: number }): Pick<DeployRun, "totalMs" | "readyMs" | "podsMs" | "edgeMs" | "cpuBusySeconds"> {
  return {
    totalMs: Math.max(end.readyAt, end.podsAt, end.edgeAt) - t0,
    readyMs: end.readyAt - t0,
    podsMs: end.podsAt - t0,
    edgeMs: end.edgeAt - t0,
    cpuBusySeconds: +(cpuBusySeconds() - cpu0).toFixed(1),
  };
}

/** A run that did not reach the end state: kept in the results with its error. */
export function failedRun<B extends Pick<DeployRun, "side" | "scenario" | "nodes" | "repeat" | "rttMs" | "measuredAt">>(base: B, err: unknown, t0: number, cpu0: number): DeployRun {
  return { ...base, ok: false, error: (err as Error).message, totalMs: Date.now() - t0, configuredMs: 0, readyMs: 0, podsMs: 0, edgeMs: 0, cpuBusySeconds: +(cpuBusySeconds() - cpu0).toFixed(1), perNode: [], steps: [] };
}
