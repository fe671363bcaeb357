import type { NodeManifest } from "../../../shared/node-manifest.js";
import { inTreeGlusterfs } from "../storage.js";
import { MANAGED_BY_SPROUT } from "../../kube/labels.js";

/** Names users write in their claims: `storageClassName: sprout-shared`. */
export const SHARED_STORAGE_CLASS = "sprout-shared";
export const REFERENCE_STORAGE_CLASS = "sprout-reference";
const ENDPOINTS = "sprout-glusterfs";
const LABELS = MANAGED_BY_SPROUT;

/**
 * The shared GlusterFS volume as Kubernetes storage, for Kubernetes 1.20's in-tree `glusterfs`
 * volume plugin (removed in 1.26: see renderHostPathStorageObjects for what 1.26+ gets):
 * - a selector-less Service + Endpoints listing the storage nodes (the plugin dials these);
 * - PersistentVolume `sprout-shared` (ReadWriteMany) in StorageClass `sprout-shared`;
 * - PersistentVolume `sprout-reference` (ReadOnlyMany, mounted read-only) in StorageClass
 *   `sprout-reference`, the same volume for reference data that pods must not change.
 * A claim binds one PersistentVolume; both are static (`kubernetes.io/no-provisioner`).
 */
export function renderSharedStorageObjects(m: NodeManifest): object[] {
  const s = m.storage;
  if (!s || s.servers.length === 0) return [];
  if (!inTreeGlusterfs(m.cluster.kubernetesVersion)) return renderHostPathStorageObjects(m);
  const addresses = s.servers.map((srv) => ({ ip: srv.address }));
  const capacity = `${s.capacityGiB}Gi`;
  const pv = (name: string, storageClassName: string, accessModes: string[], readOnly: boolean) => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: LABELS },
    spec: {
      capacity: { storage: capacity },
      accessModes,
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName,
      glusterfs: { endpoints: ENDPOINTS, endpointsNamespace: "default", path: s.volume, readOnly },
    },
  });
  const storageClass = (name: string) => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, labels: LABELS },
    provisioner: "kubernetes.io/no-provisioner",
    volumeBindingMode: "Immediate",
    reclaimPolicy: "Retain",
  });
  return [
    // The port is required by the Endpoints API, unused by the plugin (glusterd listens on 24007).
    { apiVersion: "v1", kind: "Service", metadata: { name: ENDPOINTS, namespace: "default", labels: LABELS }, spec: { ports: [{ port: 24007 }] } },
    { apiVersion: "v1", kind: "Endpoints", metadata: { name: ENDPOINTS, namespace: "default", labels: LABELS }, subsets: [{ addresses, ports: [{ port: 24007 }] }] },
    storageClass(SHARED_STORAGE_CLASS),
    storageClass(REFERENCE_STORAGE_CLASS),
    pv(SHARED_STORAGE_CLASS, SHARED_STORAGE_CLASS, ["ReadWriteMany"], false),
    pv(REFERENCE_STORAGE_CLASS, REFERENCE_STORAGE_CLASS, ["ReadOnlyMany"], true),
  ];
}

/**
 * The same two storage classes for Kubernetes 1.26+, which has no glusterfs volume plugin: every
 * service node mounts the volume itself (read-write, and read-only at `<path>-ro`), so the
 * PersistentVolumes are hostPath volumes of those mounts, with node affinity to service nodes — a
 * pod using a claim is only ever scheduled where the mount exists. Files written on one node are
 * seen on every other, as with the in-tree plugin.
 */
function renderHostPathStorageObjects(m: NodeManifest): object[] {
  const s = m.storage!;
  const path = s.sharedPath ?? "/mnt/sprout-shared";
  const capacity = `${s.capacityGiB}Gi`;
  const onServiceNodes = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "sprout.dev/role-service", operator: "Exists" }] }] } };
  const pv = (name: string, accessModes: string[], hostPath: string) => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: LABELS },
    spec: { capacity: { storage: capacity }, accessModes, persistentVolumeReclaimPolicy: "Retain", storageClassName: name, hostPath: { path: hostPath, type: "Directory" }, nodeAffinity: onServiceNodes },
  });
  const storageClass = (name: string) => ({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name, labels: LABELS }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: "Immediate", reclaimPolicy: "Retain" });
  return [storageClass(SHARED_STORAGE_CLASS), storageClass(REFERENCE_STORAGE_CLASS), pv(SHARED_STORAGE_CLASS, ["ReadWriteMany"], path), pv(REFERENCE_STORAGE_CLASS, ["ReadOnlyMany"], `${path}-ro`)];
}
