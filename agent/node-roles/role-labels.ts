/**
 * Which `node-role.kubernetes.io/*` labels a node should carry, from the `sprout.dev/role-<role>`
 * labels its kubelet registered it with (the kubelet may not set the reserved ones itself). This
 * is what `kubectl get nodes` shows as ROLES, and what charts select masters by.
 */
export const SPROUT_ROLE = "sprout.dev/role-";
const NODE_ROLE = "node-role.kubernetes.io/";

/** The role labels Sprout sets and so may remove: a label of the user's own stays. */
const MANAGED = ["master", "control-plane", "service", "storage", "edge"].map((r) => `${NODE_ROLE}${r}`);

/**
 * The merge patch of `metadata.labels` that makes the node's role labels what its Sprout roles
 * ask for (null removes one), or undefined when they already are. `masterLabel` is the key for
 * masters in the cluster's minor (shared/versions.ts masterRoleLabel).
 */
export function roleLabelPatch(labels: Record<string, string>, masterLabel: string): Record<string, string | null> | undefined {
  // A node Sprout did not register (joined by hand, say) keeps whatever labels it has.
  if (!Object.keys(labels).some((k) => k.startsWith(SPROUT_ROLE))) return undefined;
  const wanted = new Set(
    Object.keys(labels)
      .filter((k) => k.startsWith(SPROUT_ROLE))
      .map((k) => k.slice(SPROUT_ROLE.length))
      .map((role) => (role === "master" ? masterLabel : `${NODE_ROLE}${role}`)),
  );
  const patch: Record<string, string | null> = {};
  for (const key of wanted) if (labels[key] === undefined) patch[key] = "";
  for (const key of MANAGED) if (labels[key] !== undefined && !wanted.has(key)) patch[key] = null;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
