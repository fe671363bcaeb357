import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { roleCounts } from "../../shared/cluster-spec.js";
import type { NodeManifest } from "../../shared/node-manifest.js";
import type { NodeRecord } from "../state/records.js";

/** Where a storage node mounts its volume, and the brick directory on it. */
export const BRICK_MOUNT = "/srv/sprout/brick";

/**
 * A node's view of the shared volume. Storage nodes get their brick (the first to join also
 * forms the volume); service nodes mount it; the master publishes it to Kubernetes. `servers`
 * are the storage nodes that joined so far, in join order, so the brick list — and the replica
 * sets it forms — never reorders as more join.
 */
export function renderStorage(spec: ClusterSpec, node: NodeRecord, servers: { name: string; address: string }[]): NodeManifest["storage"] {
  const storageNodes = roleCounts(spec)["storage"] ?? 0;
  if (storageNodes === 0) return undefined;
  const roles = node.roles;
  const isStorage = roles.includes("storage");
  if (!isStorage && !roles.includes("service") && !roles.includes("master")) return undefined;
  return {
    volume: spec.storage.volumeName,
    replication: spec.storage.replication,
    capacityGiB: Math.max(1, Math.floor((spec.storage.volumeSizeGiB * storageNodes) / spec.storage.replication)),
    servers,
    brick: isStorage
      ? { device: spec.storage.device === "none" ? undefined : spec.storage.device, mountPath: BRICK_MOUNT, dir: `${BRICK_MOUNT}/${spec.storage.volumeName}` }
      : undefined,
    formsVolume: isStorage && servers[0]?.name === node.name,
    mountPath: roles.includes("service") ? spec.storage.mountPath : undefined,
    sharedPath: spec.storage.mountPath,
  };
}

/** Storage nodes in join order (name breaks ties), with their first address. */
export function storageServers(nodes: readonly NodeRecord[]): { name: string; address: string }[] {
  return nodes
    .filter((n) => n.roles.includes("storage"))
    .sort((a, b) => a.joinedAt - b.joinedAt || a.name.localeCompare(b.name))
    .map((n) => ({ name: n.name, address: n.addresses[0]! }));
}
