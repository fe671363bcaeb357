import type { ClusterStatus } from "../../../shared/status.js";
import type { PlannedNode } from "../../../shared/cluster-spec.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import type { AgentProbe } from "../../providers/local/agent-probe.js";
import { color, formatMs, progress, printJson } from "../output.js";
import { mergeKubeconfig } from "../kubeconfig-merge.js";
import { adminKubeconfig, defaultKubeconfigPath } from "./kubeconfig.js";
import { renderStatus } from "./status.js";
import { followProgress, type UpOptions } from "./up.js";

/**
 * The second half of `sprout up` for every provider that runs real agents: follow the nodes until
 * each converged or failed for good (or the timeout), write the admin kubeconfig once a master is
 * up, and say for each node that did not make it why not — from the coordinator for nodes that
 * joined, from the machine itself (`probe`) for nodes that never did.
 */
export interface FollowInput {
  /** The cluster's status: from the coordinator in this process, or through a tunnel to a remote one. */
  status(): Promise<ClusterStatus>;
  dir: string;
  nodes: PlannedNode[];
  options: UpOptions;
  t0: number;
  probe(node: PlannedNode): Promise<AgentProbe>;
  /** Nodes the provider already knows failed (an install that did not go through): name → reason. */
  failed?: Map<string, string>;
  /** The last line's tail: what is left running and how to remove it. */
  endNote: string;
  /**
   * Nodes whose agents the provider (re)started, and when: until such a node reports again, its
   * status is the previous agent's, and a "converged" from before the restart proves nothing.
   */
  restartedAt?: Map<string, number>;
}

const FAILURE_GRACE_MS = 20_000;
const PROBE_INTERVAL_MS = 3_000;

export async function followToEnd(i: FollowInput): Promise<number> {
  const { nodes, options } = i;
  const failed = i.failed ?? new Map<string, string>();
  // A blip (a tunnel reconnecting, a slow SSH command) must not end `up`: the last answer stands.
  let last: ClusterStatus | undefined;
  const status = async (): Promise<ClusterStatus> => {
    try {
      return (last = await i.status());
    } catch (err) {
      if (last) return last;
      throw err;
    }
  };
  const probeOf = async (n: PlannedNode): Promise<AgentProbe> => {
    if (failed.has(n.name)) return { state: "failed", reason: failed.get(n.name)! };
    return i.probe(n).catch((err: Error) => ({ state: "working" as const, reason: `cannot ask the machine: ${err.message}` }));
  };
  let done = false;
  const deadline = setTimeout(() => (done = true), options.timeoutMs);
  const probes = new Map<string, AgentProbe>();
  const ended = (async () => {
    let failingSince: number | undefined;
    let probedAt = 0;
    for (; !done; await new Promise((r) => setTimeout(r, 500))) {
      const now = await status();
      // The coordinator knows nothing of nodes that never joined: ask their machines.
      const unjoined = nodes.filter((n) => !now.nodes.some((s) => s.name === n.name));
      if (unjoined.length > 0 && Date.now() - probedAt > PROBE_INTERVAL_MS) {
        probedAt = Date.now();
        probes.clear();
        for (const n of unjoined) probes.set(n.name, await probeOf(n));
      }
      const state = settled(now, nodes.length, unjoined.map((n) => probes.get(n.name)), i.restartedAt);
      if (state === "converged") return;
      // Agents retry failed passes and joins; give up on them only once failure has held a while.
      failingSince = state === "failed" ? (failingSince ?? Date.now()) : undefined;
      if (failingSince !== undefined && Date.now() - failingSince > FAILURE_GRACE_MS) return;
    }
  })();
  const final = await followProgress(status, ended, options.format);
  clearTimeout(deadline);
  if (done) progress(color.red(`timed out after ${formatMs(options.timeoutMs)} with nodes still working; their agents go on (\`sprout status\` shows them while a coordinator runs)`));
  const unfinished = nodes.filter((n) => final.nodes.find((s) => s.name === n.name)?.phase !== "converged");
  if (options.kubeconfig !== false && final.nodes.some((n) => n.roles.includes("master") && n.phase === "converged")) {
    const { text, context } = await adminKubeconfig(i.dir);
    const target = options.kubeconfig ?? defaultKubeconfigPath();
    if (options.kubeconfig) await writeFileAtomic(target, text, 0o600);
    else await mergeKubeconfig(target, text);
    progress(`kubectl: context ${context} in ${target}`);
  }
  // Why each node that never joined did not: from its machine, at the end.
  const unjoined: { name: string; reason: string }[] = [];
  for (const n of unfinished) {
    if (final.nodes.some((s) => s.name === n.name)) continue;
    const probe = await probeOf(n);
    unjoined.push({ name: n.name, reason: failed.has(n.name) ? probe.reason : `never joined: ${probe.reason}` });
  }
  if (options.format === "json") printJson({ ...final, unjoined, wallMs: Date.now() - i.t0 });
  else {
    process.stdout.write(renderStatus(final));
    for (const n of unfinished) {
      const s = final.nodes.find((x) => x.name === n.name);
      const why = s ? `${s.phase}${s.error ? `: ${s.error}` : ""}` : unjoined.find((u) => u.name === n.name)!.reason;
      progress(color.red(`${n.name}: ${why}`));
    }
    progress(`${nodes.length - unfinished.length} of ${nodes.length} nodes converged in ${formatMs(Date.now() - i.t0)}; ${i.endNote}`);
  }
  return unfinished.length === 0 ? 0 : 1;
}

/**
 * "converged": every planned node is done; "failed": every node is done or failed, counting
 * nodes that never joined as failed once their agent failed or cannot reach the coordinator;
 * undefined: still working.
 */
function settled(status: ClusterStatus, planned: number, unjoined: (AgentProbe | undefined)[], restartedAt = new Map<string, number>()): "converged" | "failed" | undefined {
  const fresh = (n: ClusterStatus["nodes"][number]) => (n.lastEventAt ?? 0) >= (restartedAt.get(n.name) ?? 0);
  const done = (n: ClusterStatus["nodes"][number]) => n.phase === "converged" && n.appliedRevision === n.revision && fresh(n);
  if (status.nodes.length === planned && status.nodes.every(done)) return "converged";
  if (!unjoined.every((p) => p !== undefined && p.state !== "working")) return undefined;
  return status.nodes.every((n) => done(n) || (n.phase === "failed" && fresh(n))) ? "failed" : undefined;
}
