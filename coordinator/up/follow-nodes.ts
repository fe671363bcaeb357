import type { PlannedNode } from "../../shared/cluster-spec.js";
import type { ClusterStatus } from "../../shared/status.js";
import type { OutputFormat } from "../output.js";
import { followProgress } from "./phase-progress.js";
import type { AgentProbe, Launch } from "./provider.js";
import { settled } from "./settle.js";

/** Agents retry failed passes and joins: `up` gives up on them only once failure held this long. */
const FAILURE_GRACE_MS = 20_000;
const PROBE_INTERVAL_MS = 3_000;

export interface FollowResult {
  final: ClusterStatus;
  /** Why it stopped before every node settled. */
  cut?: "timeout" | "interrupted";
  /** Nodes that never joined, with what their machines say. */
  unjoined: { name: string; reason: string }[];
}

/**
 * Follows the nodes until each converged or failed for good, the timeout, or `stop`. The
 * coordinator knows nothing of nodes that never joined: their machines are asked (`probe`).
 */
export async function followNodes(
  launch: Launch,
  nodes: PlannedNode[],
  o: { timeoutMs: number; format: OutputFormat; stop: Promise<unknown> },
): Promise<FollowResult> {
  const failed = launch.failed ?? new Map<string, string>();
  const status = lastGoodStatus(launch.status);
  const probeOf = async (n: PlannedNode): Promise<AgentProbe> => {
    if (failed.has(n.name)) return { state: "failed", reason: failed.get(n.name)! };
    const asking = launch.probe(n);
    return asking.catch((err: Error) => ({ state: "working" as const, reason: `cannot ask the machine: ${err.message}` }));
  };
  let cut: FollowResult["cut"];
  const deadline = setTimeout(() => (cut ??= "timeout"), o.timeoutMs);
  void o.stop.then(() => (cut ??= "interrupted"));
  const ended = (async () => {
    const probes = new Map<string, AgentProbe>();
    let failingSince: number | undefined;
    let probedAt = 0;
    for (; !cut; await new Promise((r) => setTimeout(r, 500))) {
      const now = await status();
      const unjoined = nodes.filter((n) => !now.nodes.some((s) => s.name === n.name));
      if (unjoined.length > 0 && Date.now() - probedAt > PROBE_INTERVAL_MS) {
        probedAt = Date.now();
        probes.clear();
        for (const n of unjoined) probes.set(n.name, await probeOf(n));
      }
      const state = settled(now, nodes.length, unjoined.map((n) => probes.get(n.name)), launch.restartedAt);
      if (state === "converged") return;
      if (state === "failed" && launch.agentsGone?.()) return;
      failingSince = state === "failed" ? (failingSince ?? Date.now()) : undefined;
      if (failingSince !== undefined && Date.now() - failingSince > FAILURE_GRACE_MS) return;
    }
  })();
  const final = await followProgress(status, ended, o.format);
  clearTimeout(deadline);
  const unjoined: FollowResult["unjoined"] = [];
  for (const n of nodes) {
    if (final.nodes.some((s) => s.name === n.name)) continue;
    const probe = await probeOf(n);
    unjoined.push({ name: n.name, reason: failed.has(n.name) ? probe.reason : `never joined: ${probe.reason}` });
  }
  return { final, cut, unjoined };
}

/** A blip (a tunnel reconnecting, a slow SSH command) must not end `up`: the last answer stands. */
function lastGoodStatus(fetch: () => Promise<ClusterStatus>): () => Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  return async () => {
    try {
      return (last = await fetch());
    } catch (err) {
      if (last) return last;
      throw err;
    }
  };
}
