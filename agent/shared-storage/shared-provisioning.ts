import { MANAGED_BY_SPROUT } from "../kube/labels.js";
import { formatBytes, quantityBytes } from "../../shared/quantity.js";
import { handedTo, PROVISIONED_BY, PROVISIONED_VOLUME_NAME, type Claim, type StorageClass, type Volume } from "../kube/storage-objects.js";
import { inTreeGlusterfs } from "../builders/storage.js";
import { SPROUT_ROLE } from "../node-roles/role-labels.js";

/**
 * Dynamic claims on the shared GlusterFS volume, decided in one place: every claim in a class of
 * this provisioner gets its own directory on the volume, limited to its size by a GlusterFS
 * directory quota, and a PersistentVolume that mounts only that directory. KubeNow gave each
 * claim its own volume through heketi; a directory with a quota gives the same isolation and
 * limit without carving bricks, and binds in about a second.
 */
export const SHARED_PROVISIONER = "sprout.dev/glusterfs";
/** A class parameter: `readOnly: "true"` makes ReadOnlyMany volumes, mounted read-only (sprout-reference). */
export const READ_ONLY_PARAMETER = "readOnly";
/** The volume's directory, relative to the volume's root: written on the PV, read back to delete it. */
export const SHARED_DIR = "sprout.dev/shared-dir";

/** How a PersistentVolume reaches a directory of the shared volume, by Kubernetes version. */
export type VolumeSource =
  /** Kubernetes up to 1.25: the kubelet mounts the directory itself (the in-tree glusterfs plugin). */
  | { kind: "glusterfs"; volume: string; endpoints: string; endpointsNamespace: string }
  /** 1.26+: a hostPath of the service nodes' mount (read-only at `<path>-ro`), pinned to them. */
  | { kind: "hostPath"; path: string; nodeLabel: string };

/** The Service and Endpoints that list the storage nodes, which the in-tree plugin dials. */
export const GLUSTERFS_ENDPOINTS = { name: "sprout-glusterfs", namespace: "default" } as const;
/** The label of service nodes, where 1.26+ has the volume mounted. */
const SERVICE_NODE_LABEL = `${SPROUT_ROLE}service`;

export function volumeSourceFor(kubernetesVersion: string, volume: string, sharedPath: string): VolumeSource {
  return inTreeGlusterfs(kubernetesVersion) ? { kind: "glusterfs", volume, endpoints: GLUSTERFS_ENDPOINTS.name, endpointsNamespace: GLUSTERFS_ENDPOINTS.namespace } : { kind: "hostPath", path: sharedPath, nodeLabel: SERVICE_NODE_LABEL };
}

export interface SharedBackend {
  source: VolumeSource;
  /** What the volume can still hold. */
  capacity: { totalBytes: number; freeBytes: number };
}

export interface SharedPlan {
  /** New directories, each limited to `bytes`, then their PersistentVolume (copied from `cloneFrom` first, when set). */
  create: { claim: Claim; dir: string; bytes: number; cloneFrom?: string; volume: object }[];
  /** Bound claims asking for more: raise the limit, then the volume's and the claim's capacity. */
  expand: { claim: Claim; volumeName: string; dir: string; bytes: number; size: string }[];
  /** Released volumes whose policy is Delete: the directory, its limit, then the object. */
  remove: { name: string; dir: string }[];
  /** Claims that cannot be met, and why (a Warning Event each; the claim stays Pending). */
  refused: { claim: Claim; reason: string; message: string }[];
}

/**
 * `backend` is undefined when the cluster has no storage nodes: then every claim of these classes
 * is refused with the reason, instead of waiting in silence.
 */
export function planSharedVolumes(claims: Claim[], volumes: Volume[], classes: StorageClass[], backend: SharedBackend | undefined): SharedPlan {
  const plan: SharedPlan = { create: [], expand: [], remove: [], refused: [] };
  const ours = new Map(classes.filter((c) => c.provisioner === SHARED_PROVISIONER).map((c) => [c.metadata.name, c]));
  const own = volumes.filter((v) => v.metadata.annotations[PROVISIONED_BY] === SHARED_PROVISIONER && PROVISIONED_VOLUME_NAME.test(v.metadata.name));
  const byName = new Map(own.map((v) => [v.metadata.name, v]));
  // Space already promised to claims (retained volumes still hold their data).
  let unpromised = backend ? Math.min(backend.capacity.freeBytes, backend.capacity.totalBytes - own.reduce((sum, v) => sum + (quantityBytes(v.spec.capacity["storage"] ?? "0") ?? 0), 0)) : 0;
  const refuse = (claim: Claim, message: string) => plan.refused.push({ claim, reason: "ProvisioningFailed", message });

  for (const c of claims) {
    const cls = ours.get(c.spec.storageClassName ?? "");
    if (!cls) continue;
    const wanted = quantityBytes(c.spec.resources.requests["storage"] ?? "");
    if (c.status.phase === "Bound" && c.spec.volumeName) {
      const v = byName.get(c.spec.volumeName);
      const has = quantityBytes(v?.spec.capacity["storage"] ?? "");
      if (!backend || !v || wanted === undefined || has === undefined || wanted <= has) continue;
      if (wanted - has > unpromised) {
        refuse(c, `cannot grow to ${c.spec.resources.requests["storage"]}: the shared volume has ${formatBytes(Math.max(0, unpromised))} not promised to other claims`);
        continue;
      }
      unpromised -= wanted - has;
      plan.expand.push({ claim: c, volumeName: v.metadata.name, dir: v.metadata.annotations[SHARED_DIR] ?? v.metadata.name, bytes: wanted, size: c.spec.resources.requests["storage"]! });
      continue;
    }
    if (c.spec.volumeName || c.status.phase !== "Pending") continue;
    if (!handedTo(c, SHARED_PROVISIONER)) continue;
    const name = `pvc-${c.metadata.uid}`;
    if (byName.has(name) || !PROVISIONED_VOLUME_NAME.test(name)) continue;
    const refusal = refusalOf(c, cls, wanted, backend);
    if (refusal) {
      refuse(c, refusal);
      continue;
    }
    const source = c.spec.dataSource ? cloneSource(c, claims, byName) : undefined;
    if (typeof source === "string") {
      refuse(c, source);
      continue;
    }
    if (source && source.bytes > wanted!) {
      refuse(c, `requests ${c.spec.resources.requests["storage"]}, less than its source claim ${c.spec.dataSource!.name} holds (${source.size}): request at least that`);
      continue;
    }
    if (wanted! > unpromised) {
      refuse(c, `requests ${c.spec.resources.requests["storage"]}, more than the shared volume has free: ${formatBytes(Math.max(0, unpromised))} not promised to other claims, of ${formatBytes(backend!.capacity.totalBytes)}`);
      continue;
    }
    unpromised -= wanted!;
    plan.create.push({ claim: c, dir: name, bytes: wanted!, cloneFrom: source?.dir, volume: volumeFor(c, cls, name, backend!.source) });
  }

  for (const v of own) {
    if (v.spec.persistentVolumeReclaimPolicy !== "Delete" || (v.status.phase !== "Released" && v.status.phase !== "Failed")) continue;
    const dir = v.metadata.annotations[SHARED_DIR];
    if (dir !== v.metadata.name) continue; // not a directory this provisioner made
    plan.remove.push({ name: v.metadata.name, dir });
  }
  return plan;
}

const READ_WRITE_MODES = new Set(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]);

/** Why a new claim cannot be provisioned at all, or undefined. */
function refusalOf(c: Claim, cls: StorageClass, wanted: number | undefined, backend: SharedBackend | undefined): string | undefined {
  const name = cls.metadata.name;
  if (!backend) return `this cluster has no storage nodes, so storage class ${name} has no volume to give: add a node group with role storage to cluster.yaml, or use the default class sprout-local (ReadWriteOnce, on one node)`;
  const modes = c.spec.accessModes;
  if (modes.length === 0) return "the claim names no access mode (spec.accessModes)";
  if (readOnlyClass(cls)) {
    const wrong = modes.filter((m) => m !== "ReadOnlyMany");
    if (wrong.length > 0) return `storage class ${name} is read-only: it gives ReadOnlyMany, not ${wrong.join(", ")}; for writable shared storage use sprout-shared`;
    if (!c.spec.dataSource) return `storage class ${name} is read-only, so a claim starts as a copy of another: set spec.dataSource to {kind: PersistentVolumeClaim, name: <a claim holding the data>}`;
  } else {
    const wrong = modes.filter((m) => !READ_WRITE_MODES.has(m));
    if (wrong.length > 0) return `storage class ${name} gives ReadWriteMany or ReadWriteOnce, not ${wrong.join(", ")}; for read-only reference data use sprout-reference`;
  }
  if (c.spec.volumeMode === "Block") return `storage class ${name} gives filesystem volumes only, not volumeMode Block`;
  if (wanted === undefined || wanted <= 0) return "the claim requests no storage size (spec.resources.requests.storage)";
  return undefined;
}

/** The directory a clone copies from: a bound claim of this provisioner in the same namespace, or why not. */
function cloneSource(c: Claim, claims: Claim[], volumes: Map<string, Volume>): { dir: string; bytes: number; size: string } | string {
  const ds = c.spec.dataSource!;
  if (ds.kind !== "PersistentVolumeClaim" || (ds.apiGroup ?? "") !== "") return `spec.dataSource ${ds.kind} ${ds.name}: only a PersistentVolumeClaim can be copied`;
  const source = claims.find((s) => s.metadata.namespace === c.metadata.namespace && s.metadata.name === ds.name);
  if (!source) return `spec.dataSource: claim ${c.metadata.namespace}/${ds.name} does not exist`;
  const v = source.spec.volumeName ? volumes.get(source.spec.volumeName) : undefined;
  if (source.status.phase !== "Bound" || !v) return `spec.dataSource: claim ${c.metadata.namespace}/${ds.name} is not a bound claim of sprout-shared or sprout-reference`;
  const size = v.spec.capacity["storage"] ?? "0";
  return { dir: v.metadata.annotations[SHARED_DIR] ?? v.metadata.name, bytes: quantityBytes(size) ?? 0, size };
}

export function readOnlyClass(cls: StorageClass): boolean {
  return cls.parameters[READ_ONLY_PARAMETER] === "true";
}

function volumeFor(c: Claim, cls: StorageClass, name: string, source: VolumeSource): object {
  const readOnly = readOnlyClass(cls);
  const where =
    source.kind === "glusterfs"
      ? {
          glusterfs: { endpoints: source.endpoints, endpointsNamespace: source.endpointsNamespace, path: `${source.volume}/${name}`, readOnly },
          // The kubelet takes a PV's `readOnly` from the pod's claim reference, not from here:
          // only a mount option makes the volume read-only whatever the pod asks.
          ...(readOnly ? { mountOptions: ["ro"] } : {}),
        }
      : {
          hostPath: { path: `${source.path}${readOnly ? "-ro" : ""}/${name}`, type: "Directory" },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: source.nodeLabel, operator: "Exists" }] }] } },
        };
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: MANAGED_BY_SPROUT, annotations: { [PROVISIONED_BY]: SHARED_PROVISIONER, [SHARED_DIR]: name } },
    spec: {
      capacity: { storage: c.spec.resources.requests["storage"]! },
      accessModes: c.spec.accessModes,
      persistentVolumeReclaimPolicy: cls.reclaimPolicy,
      storageClassName: cls.metadata.name,
      volumeMode: "Filesystem",
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
      ...where,
    },
  };
}
