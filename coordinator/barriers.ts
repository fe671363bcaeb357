import type { ClusterSpec } from "../shared/cluster-spec.js";
import { BARRIER, STORAGE_STEP } from "../shared/barrier-names.js";
import { planNodes, roleCounts } from "../shared/cluster-spec.js";
import type { NodeStatus } from "../shared/status.js";

/**
 * Cluster-level facts agents wait on instead of being ordered around by a workstation. Each is
 * derived from what the nodes themselves reported, so it is never "set by hand".
 */
export const BARRIERS: Record<string, { describe: string; ready: (spec: ClusterSpec, nodes: NodeStatus[]) => boolean }> = {
  // The master's agent converges only after its API server answers, so this is the API server being up.
  [BARRIER.apiServerReady]: {
    describe: "a master node finished configuring its control plane",
    ready: (_spec, nodes) => nodes.some((n) => n.roles.includes("master") && n.phase === "converged"),
  },
  [BARRIER.allNodesJoined]: {
    describe: "every node the cluster spec asks for has joined",
    ready: (spec, nodes) => nodes.length >= planNodes(spec).length,
  },
  // The coordinator reads the agents' storage steps off their timelines, so a barrier is what
  // the nodes said, never set by hand.
  [BARRIER.storageNodesReported]: {
    describe: "every storage node in the spec runs glusterd with its brick",
    ready: (spec, nodes) => {
      const want = roleCounts(spec)["storage"] ?? 0;
      return nodes.filter((n) => n.roles.includes("storage") && finished(n, STORAGE_STEP.glusterd)).length >= want;
    },
  },
  [BARRIER.storageVolumeReady]: {
    describe: "the shared GlusterFS volume is formed and started",
    ready: (_spec, nodes) => nodes.some((n) => n.roles.includes("storage") && finished(n, STORAGE_STEP.volume)),
  },
};

/** The step ran to its desired state in the node's latest run (not skipped after a failed dependency). */
/** Steps whose completion can open a barrier: their step.finished events trigger a refresh. */
export const BARRIER_STEPS = new Set<string>(Object.values(STORAGE_STEP));

function finished(node: NodeStatus, stepId: string): boolean {
  return node.timeline.some((t) => t.name === `step:${stepId}` && t.status === "finished" && (t.detail === "changed" || t.detail === "unchanged"));
}

export function evaluateBarriers(spec: ClusterSpec, nodes: NodeStatus[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [name, b] of Object.entries(BARRIERS)) out[name] = b.ready(spec, nodes);
  return out;
}
