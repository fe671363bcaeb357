import type { NodeManifest } from "../../../shared/node-manifest.js";
import { inTreeGlusterfs } from "../storage.js";
import { GLUSTERFS_ENDPOINTS, READ_ONLY_PARAMETER, SHARED_PROVISIONER } from "../../shared-storage/shared-provisioning.js";
import { groupRole, MANAGED_BY_SPROUT } from "./rbac-objects.js";

/** Names users write in their claims: `storageClassName: sprout-shared`. */
export const SHARED_STORAGE_CLASS = "sprout-shared";
export const REFERENCE_STORAGE_CLASS = "sprout-reference";

/**
 * The shared GlusterFS volume's storage classes, dynamic (agent/shared-storage/): every claim
 * gets its own directory, limited to its size, deleted with the claim, and able to grow.
 * - `sprout-shared`: ReadWriteMany (or ReadWriteOnce), for pipelines writing from many pods;
 * - `sprout-reference`: ReadOnlyMany, mounted read-only, a copy of a claim named in the claim's
 *   `dataSource` (reference data that pods must not change).
 * Both exist even without storage nodes, so a claim for them is told why it waits rather than
 * "class not found". On Kubernetes up to 1.25, the in-tree glusterfs plugin dials the storage
 * nodes listed by a selector-less Service + Endpoints.
 */
export function renderSharedStorageObjects(m: NodeManifest): object[] {
  const s = m.storage;
  const storageClass = (name: string, parameters: Record<string, string>) => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, labels: MANAGED_BY_SPROUT },
    provisioner: SHARED_PROVISIONER,
    // Never `parameters: {}`: the API server stores no empty map, so every later apply would
    // read as a change to parameters, which a StorageClass forbids.
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    volumeBindingMode: "Immediate",
    reclaimPolicy: "Delete",
    allowVolumeExpansion: true,
  });
  const endpoints =
    s && s.servers.length > 0 && inTreeGlusterfs(m.cluster.kubernetesVersion)
      ? [
          // The port is required by the Endpoints API, unused by the plugin (glusterd listens on 24007).
          { apiVersion: "v1", kind: "Service", metadata: { ...GLUSTERFS_ENDPOINTS, labels: MANAGED_BY_SPROUT }, spec: { ports: [{ port: 24007 }] } },
          { apiVersion: "v1", kind: "Endpoints", metadata: { ...GLUSTERFS_ENDPOINTS, labels: MANAGED_BY_SPROUT }, subsets: [{ addresses: s.servers.map((srv) => ({ ip: srv.address })), ports: [{ port: 24007 }] }] },
        ]
      : [];
  return [
    ...groupRole("sprout:shared-storage", [
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["persistentvolumeclaims/status"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
      { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    ]),
    storageClass(SHARED_STORAGE_CLASS, {}),
    storageClass(REFERENCE_STORAGE_CLASS, { [READ_ONLY_PARAMETER]: "true" }),
    ...endpoints,
  ];
}
