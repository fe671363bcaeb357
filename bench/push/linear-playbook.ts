import type { ClusterSpec } from "../../shared/cluster-spec.js";
import type { NodeRole } from "../../shared/roles.js";
import type { NodeStatus } from "../../shared/status.js";
import type { Step, StepOutcome } from "../../shared/steps.js";
import { evaluateBarriers } from "../../coordinator/barriers.js";

/**
 * Ansible's linear strategy over Sprout's own steps: one task at a time, on every host it applies
 * to, before the next task starts anywhere. The playbook is each host's plan in dependency order
 * (the order Sprout's builders list their steps, as a role lists its tasks); a task is a step id,
 * and a host whose plan lacks it skips it, as with `when:`. A step that waits on a barrier runs
 * only once the barrier holds for the steps already done — what a playbook gets by putting the
 * control plane's play before the workers' join play. A failed task takes its host out of the
 * play, as Ansible does.
 */
export interface HostPlan {
  host: string;
  roles: NodeRole[];
  steps: Step[];
}

export interface Task {
  id: string;
  hosts: string[];
}

export class LinearPlaybook {
  private readonly order = new Map<string, Step[]>();
  private readonly done = new Map<string, Map<string, StepOutcome>>();
  private readonly failedHosts = new Set<string>();

  constructor(
    private readonly spec: ClusterSpec,
    private readonly plans: HostPlan[],
  ) {
    for (const p of plans) {
      this.order.set(p.host, dependencyOrder(p.steps));
      this.done.set(p.host, new Map());
    }
  }

  /** The next task and the hosts it runs on now; undefined when every host is done or failed. */
  next(): Task | undefined {
    const barriers = evaluateBarriers(this.spec, this.statuses());
    let best: { id: string; rank: number } | undefined;
    const ready = new Map<string, string[]>();
    for (const p of this.plans) {
      if (this.failedHosts.has(p.host)) continue;
      const done = this.done.get(p.host)!;
      this.order.get(p.host)!.forEach((step, rank) => {
        if (done.has(step.id) || !step.dependsOn.every((d) => done.has(d))) return;
        if (step.kind === "waitFor" && step.condition.type === "barrier" && !barriers[step.condition.name]) return;
        ready.set(step.id, [...(ready.get(step.id) ?? []), p.host]);
        if (!best || rank < best.rank) best = { id: step.id, rank };
      });
    }
    if (best) return { id: best.id, hosts: ready.get(best.id)! };
    const stuck = this.plans.filter((p) => !this.failedHosts.has(p.host) && this.done.get(p.host)!.size < p.steps.length);
    if (stuck.length > 0) {
      throw new Error(`the playbook cannot go on: ${stuck.map((p) => `${p.host} waits for ${this.order.get(p.host)!.find((s) => !this.done.get(p.host)!.has(s.id))!.id}`).join("; ")}`);
    }
    return undefined;
  }

  record(host: string, id: string, outcome: StepOutcome): void {
    this.done.get(host)!.set(id, outcome);
    if (outcome === "failed") this.failedHosts.add(host);
  }

  outcomesOf(host: string): Record<string, StepOutcome> {
    return Object.fromEntries(this.done.get(host)!);
  }

  get failed(): string[] {
    return [...this.failedHosts];
  }

  /** The hosts as the coordinator's barriers see nodes: converged when their plan is done. */
  private statuses(): NodeStatus[] {
    return this.plans.map((p) => {
      const done = this.done.get(p.host)!;
      return {
        name: p.host,
        roles: p.roles,
        addresses: [],
        phase: done.size === p.steps.length ? "converged" : "configuring",
        joinedAt: 0,
        revision: 1,
        connected: true,
        timeline: [...done].map(([id, outcome]) => ({ name: `step:${id}`, status: "finished" as const, detail: outcome })),
      };
    });
  }
}

/** The plan's steps with every dependency before its dependants, otherwise in builder order. */
export function dependencyOrder(steps: Step[]): Step[] {
  const out: Step[] = [];
  const placed = new Set<string>();
  let left = [...steps];
  while (left.length > 0) {
    const i = left.findIndex((s) => s.dependsOn.every((d) => placed.has(d)));
    if (i < 0) throw new Error(`steps ${left.map((s) => s.id).join(", ")} depend on each other or on steps not in the plan`);
    placed.add(left[i]!.id);
    out.push(left[i]!);
    left = left.filter((_, j) => j !== i);
  }
  return out;
}
