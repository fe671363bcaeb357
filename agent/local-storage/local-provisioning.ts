import { MANAGED_BY_SPROUT } from "../kube/labels.js";
import { handedTo, PROVISIONED_BY, PROVISIONED_VOLUME_NAME, type Claim, type Volume } from "../kube/storage-objects.js";

/**
 * Node-local volumes, as k3s's local-path provisioner gives them, decided for one node: every
 * node runs this for the claims the scheduler placed on it (WaitForFirstConsumer sets
 * `volume.kubernetes.io/selected-node`), so the directory is made where the pod will run, by
 * the node itself. A volume is a directory under `baseDir`, named after its PersistentVolume;
 * like local-path it has no size limit of its own (README, "Node-local volumes").
 */
export const PROVISIONER = "sprout.dev/local-path";
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** Which node holds a volume's directory: only that node may delete it. */
export const VOLUME_NODE = "sprout.dev/local-node";

export interface LocalPolicy {
  nodeName: string;
  className: string;
  reclaimPolicy: string;
  baseDir: string;
}

export interface LocalPlan {
  /** PersistentVolumes to create, each with its directory. */
  create: { dir: string; volume: object }[];
  /** Released volumes of this node whose policy is Delete: remove the directory, then the object. */
  remove: { name: string; dir: string }[];
  /** Claims this node cannot serve, and why (a Warning Event each). */
  refused: { claim: Claim; reason: string; message: string }[];
}

const ACCESS_MODES = new Set(["ReadWriteOnce", "ReadWriteOncePod"]);

export function planLocalVolumes(claims: Claim[], volumes: Volume[], p: LocalPolicy): LocalPlan {
  const plan: LocalPlan = { create: [], remove: [], refused: [] };
  const existing = new Set(volumes.map((v) => v.metadata.name));
  for (const c of claims) {
    if (c.spec.storageClassName !== p.className || c.metadata.annotations[SELECTED_NODE] !== p.nodeName || c.spec.volumeName || c.status.phase !== "Pending") continue;
    if (!handedTo(c, PROVISIONER)) continue;
    const name = `pvc-${c.metadata.uid}`;
    if (existing.has(name) || !PROVISIONED_VOLUME_NAME.test(name)) continue;
    const modes = c.spec.accessModes;
    const wrong = modes.filter((m) => !ACCESS_MODES.has(m));
    if (wrong.length > 0 || modes.length === 0) {
      plan.refused.push({ claim: c, reason: "ProvisioningFailed", message: `storage class ${p.className} is a directory on one node: it gives ReadWriteOnce only, not ${wrong.join(", ") || "no access mode"}; for ReadWriteMany or ReadOnlyMany use sprout-shared or sprout-reference` });
      continue;
    }
    if (c.spec.volumeMode === "Block") {
      plan.refused.push({ claim: c, reason: "ProvisioningFailed", message: `storage class ${p.className} gives filesystem volumes only, not volumeMode Block` });
      continue;
    }
    const size = c.spec.resources.requests.storage;
    if (!size) {
      plan.refused.push({ claim: c, reason: "ProvisioningFailed", message: "the claim requests no storage size (spec.resources.requests.storage)" });
      continue;
    }
    const dir = `${p.baseDir}/${name}`;
    plan.create.push({ dir, volume: volumeFor(c, name, dir, size, modes, p) });
  }
  for (const v of volumes) {
    if (v.metadata.annotations[PROVISIONED_BY] !== PROVISIONER || v.metadata.annotations[VOLUME_NODE] !== p.nodeName) continue;
    if (v.spec.persistentVolumeReclaimPolicy !== "Delete" || (v.status.phase !== "Released" && v.status.phase !== "Failed")) continue;
    const dir = v.spec.local?.path;
    if (!PROVISIONED_VOLUME_NAME.test(v.metadata.name) || dir !== `${p.baseDir}/${v.metadata.name}`) continue; // not a directory this node made
    plan.remove.push({ name: v.metadata.name, dir });
  }
  return plan;
}

function volumeFor(c: Claim, name: string, dir: string, size: string, accessModes: string[], p: LocalPolicy): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: MANAGED_BY_SPROUT, annotations: { [PROVISIONED_BY]: PROVISIONER, [VOLUME_NODE]: p.nodeName } },
    spec: {
      capacity: { storage: size },
      accessModes,
      persistentVolumeReclaimPolicy: p.reclaimPolicy,
      storageClassName: p.className,
      volumeMode: "Filesystem",
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
      local: { path: dir },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [p.nodeName] }] }] } },
    },
  };
}
