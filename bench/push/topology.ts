import { stringify } from "yaml";
import { ClusterSpec } from "../../shared/cluster-spec.js";
import { parseWith } from "../../shared/validate.js";

/**
 * The paper's topology for n nodes: one master that is also the edge, and the other n-1 split
 * 5:3 between service and storage nodes (KubeNow's evaluation). Storage nodes come in replica
 * sets of 3 when they can (8 → 4 service + 3 storage; 16 → 9 + 6; 64 → 39 + 24).
 */
export interface Topology {
  nodes: number;
  service: number;
  storage: number;
  replication: number;
}

export function kubenowTopology(nodes: number): Topology {
  if (!Number.isInteger(nodes) || nodes < 3) throw new Error(`a cluster of ${nodes} nodes: the topology needs at least 3 (master, service, storage)`);
  const workers = nodes - 1;
  const storage = Math.max(1, Math.round((workers * 3) / 8));
  const replication = storage % 3 === 0 ? 3 : storage % 2 === 0 ? 2 : 1;
  return { nodes, service: workers - storage, storage, replication };
}

/** The same cluster for both sides: a validated spec, and the cluster.yaml `sprout up` reads. */
export function topologySpec(name: string, t: Topology, o: { nodeCidr: string; coordinatorPort: number }): { spec: ClusterSpec; yaml: string } {
  const doc = {
    apiVersion: "sprout.dev/v1alpha1",
    kind: "Cluster",
    name,
    provider: { type: "local" },
    nodeGroups: [
      { name: "master", roles: ["master", "edge"], count: 1 },
      { name: "service", roles: ["service"], count: t.service },
      { name: "storage", roles: ["storage"], count: t.storage },
    ],
    networks: { nodeCidr: o.nodeCidr },
    // Sparse files: only what the volume holds takes space.
    storage: { replication: t.replication, volumeSizeGiB: 2 },
    coordinator: { listen: `127.0.0.1:${o.coordinatorPort}` },
  };
  return { spec: parseWith(ClusterSpec, doc, `the ${t.nodes}-node benchmark topology`), yaml: stringify(doc) };
}
