import type { ClusterSpec } from "../../../shared/cluster-spec.js";

export { planNodes, type PlannedNode } from "../../../shared/cluster-spec.js";

/** `--workers N` sets the size of the first service group. */
export function withWorkers(spec: ClusterSpec, workers: number | undefined): ClusterSpec {
  if (workers === undefined) return spec;
  const i = spec.nodeGroups.findIndex((g) => g.roles.includes("service") && !g.roles.includes("master"));
  const groups = [...spec.nodeGroups];
  if (i >= 0) groups[i] = { ...groups[i]!, count: workers };
  else groups.push({ name: "service", roles: ["service"], count: workers });
  return { ...spec, nodeGroups: groups };
}
