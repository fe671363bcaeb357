import { z } from "zod";

/** What the local-storage provisioner reads of a PersistentVolumeClaim. */
export const Claim = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string(), uid: z.string(), annotations: z.record(z.string(), z.string()).default({}) }),
  spec: z.object({
    storageClassName: z.string().optional(),
    accessModes: z.array(z.string()).default([]),
    volumeMode: z.string().optional(),
    volumeName: z.string().optional(),
    resources: z.object({ requests: z.record(z.string(), z.string()).default({}) }).default({ requests: {} }),
  }),
  status: z.object({ phase: z.string().optional() }).default({}),
});
export type Claim = z.infer<typeof Claim>;

/** What it reads of a PersistentVolume. */
export const Volume = z.object({
  metadata: z.object({ name: z.string(), annotations: z.record(z.string(), z.string()).default({}) }),
  spec: z.object({ persistentVolumeReclaimPolicy: z.string().optional(), local: z.object({ path: z.string() }).optional() }),
  status: z.object({ phase: z.string().optional() }).default({}),
});
export type Volume = z.infer<typeof Volume>;

/** What it reads of its StorageClass. */
export const StorageClass = z.object({ reclaimPolicy: z.string().default("Delete") });
