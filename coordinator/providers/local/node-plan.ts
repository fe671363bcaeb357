import type { ClusterSpec } from "../../../shared/cluster-spec.js";
import type { NodeRole } from "../../../shared/roles.js";

/** The machines a spec asks for: `<group>-<n>` names, in group order. */
export interface PlannedNode {
  name: string;
  group: string;
  roles: NodeRole[];
}

export function planNodes(spec: ClusterSpec): PlannedNode[] {
  return spec.nodeGroups.flatMap((g) => Array.from({ length: g.count }, (_, i) => ({ name: `${g.name}-${i + 1}`, group: g.name, roles: g.roles })));
}

/** `--workers N` sets the size of the first service group. */
export function withWorkers(spec: ClusterSpec, workers: number | undefined): ClusterSpec {
  if (workers === undefined) return spec;
  const i = spec.nodeGroups.findIndex((g) => g.roles.includes("service") && !g.roles.includes("master"));
  const groups = [...spec.nodeGroups];
  if (i >= 0) groups[i] = { ...groups[i]!, count: workers };
  else groups.push({ name: "service", roles: ["service"], count: workers });
  return { ...spec, nodeGroups: groups };
}
