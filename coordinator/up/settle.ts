import type { ClusterStatus } from "../../shared/status.js";
import type { AgentProbe } from "./provider.js";

type NodeStatus = ClusterStatus["nodes"][number];

/**
 * "converged": every planned node is done; "failed": every node is done or failed, counting
 * nodes that never joined as failed once their agent failed or cannot reach the coordinator;
 * undefined: still working.
 */
export function settled(
  status: ClusterStatus,
  planned: number,
  unjoined: (AgentProbe | undefined)[],
  restartedAt = new Map<string, number>(),
): "converged" | "failed" | undefined {
  const fresh = (n: NodeStatus) => (n.lastEventAt ?? 0) >= (restartedAt.get(n.name) ?? 0);
  const done = (n: NodeStatus) => n.phase === "converged" && n.appliedRevision === n.revision && fresh(n);
  if (status.nodes.length === planned && status.nodes.every(done)) return "converged";
  if (!unjoined.every((p) => p !== undefined && p.state !== "working")) return undefined;
  return status.nodes.every((n) => done(n) || (n.phase === "failed" && fresh(n))) ? "failed" : undefined;
}
