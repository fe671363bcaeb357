import { z } from "zod";

/**
 * What Sprout's volume provisioners (agent/local-storage/, agent/shared-storage/) read of the
 * storage API objects: only the fields they decide on, everything else passes through.
 */
const Metadata = z.object({ name: z.string(), namespace: z.string().optional(), uid: z.string().default(""), annotations: z.record(z.string(), z.string()).default({}) });
const Sizes = z.record(z.string(), z.string()).default({});

/** A PersistentVolumeClaim. */
export const Claim = z.object({
  metadata: Metadata.extend({ namespace: z.string(), uid: z.string() }),
  spec: z.object({
    storageClassName: z.string().optional(),
    accessModes: z.array(z.string()).default([]),
    volumeMode: z.string().optional(),
    volumeName: z.string().optional(),
    resources: z.object({ requests: Sizes }).default({ requests: {} }),
    dataSource: z.object({ apiGroup: z.string().nullish(), kind: z.string(), name: z.string() }).nullish(),
  }),
  status: z.object({ phase: z.string().optional(), capacity: Sizes }).default({ capacity: {} }),
});
export type Claim = z.infer<typeof Claim>;

/** A PersistentVolume. */
export const Volume = z.object({
  metadata: Metadata,
  spec: z.object({
    persistentVolumeReclaimPolicy: z.string().optional(),
    storageClassName: z.string().optional(),
    capacity: Sizes,
    local: z.object({ path: z.string() }).optional(),
    claimRef: z.object({ namespace: z.string().optional(), name: z.string().optional(), uid: z.string().optional() }).optional(),
  }),
  status: z.object({ phase: z.string().optional() }).default({}),
});
export type Volume = z.infer<typeof Volume>;

/** A StorageClass. */
export const StorageClass = z.object({
  metadata: Metadata.default({ name: "", uid: "", annotations: {} }),
  provisioner: z.string().default(""),
  reclaimPolicy: z.string().default("Delete"),
  allowVolumeExpansion: z.boolean().default(false),
  parameters: z.record(z.string(), z.string()).default({}),
});
export type StorageClass = z.infer<typeof StorageClass>;

/** The annotation on a PersistentVolume naming the provisioner that made it. */
export const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** The names Sprout's provisioners give their PersistentVolumes, `pvc-<claim uid>`: also safe directory names. */
export const PROVISIONED_VOLUME_NAME = /^pvc-[0-9a-f-]{36}$/;
/** Set by the controller manager on claims whose class names an external provisioner (GA and beta keys). */
const STORAGE_PROVISIONER = ["volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner"];

/** Whether the controller manager handed this claim to `provisioner`. */
export function handedTo(c: Claim, provisioner: string): boolean {
  return STORAGE_PROVISIONER.some((a) => c.metadata.annotations[a] === provisioner);
}
