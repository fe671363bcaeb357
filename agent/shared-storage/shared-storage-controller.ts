import { hostname } from "node:os";
import type { Logger } from "../../shared/log.js";
import { TryAgainLater } from "../../shared/errors.js";
import type { Host } from "../host/host.js";
import { WarningEvents } from "../kube/events.js";
import { listOf, type KubeClient, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { CLAIMS, claimsOrVolumesChanged, VOLUMES, warnClaims } from "../kube/claim-rounds.js";
import { Claim, StorageClass, Volume } from "../kube/storage-objects.js";
import { planSharedVolumes, type SharedBackend, type SharedPlan, type VolumeSource } from "./shared-provisioning.js";
import { enableQuota, limitDirectory, unlimitDirectory } from "./gluster-quota.js";

const CLASSES = "/apis/storage.k8s.io/v1/storageclasses";

export interface SharedStorageOptions extends KubeCredentials {
  /**
   * The shared volume as this node serves it: its GlusterFS name, where this storage node mounts
   * it whole, and how PersistentVolumes reach it. Undefined on a master of a cluster without
   * storage nodes: then claims are only told why they wait.
   */
  volume?: { name: string; mountPath: string; source: VolumeSource; capacityBytes: number };
  nodeName: string;
  host: Host;
  log: Logger;
  signal: AbortSignal;
}

/**
 * The shared volume's provisioner (agent/shared-storage/shared-provisioning.ts), on the storage
 * node that formed the volume: makes a directory with a quota and a PersistentVolume per claim,
 * grows limits, deletes released directories, and waits for the next change of claims or volumes.
 */
export async function runSharedStorageController(o: SharedStorageOptions): Promise<void> {
  const events = new WarningEvents({ component: "sprout-shared-storage", host: o.nodeName || hostname() }, o.signal);
  let quotaOn = false;
  await reconcileLoop({ ...o, name: "shared storage" }, {
    reconcile: async (client) => {
      if (o.volume && !quotaOn) {
        await enableQuota(o.host, o.volume.name);
        quotaOn = true;
      }
      const [claims, volumes, classes] = await Promise.all([client.list(CLAIMS, listOf(Claim), o.signal), client.list(VOLUMES, listOf(Volume), o.signal), client.list(CLASSES, listOf(StorageClass), o.signal)]);
      const backend = o.volume ? await backendOf(o.host, o.volume) : undefined;
      const plan = planSharedVolumes(claims.items, volumes.items, classes.items, backend);
      if (o.volume) await carryOut(client, o, o.volume, plan);
      await warnClaims(client, events, plan.refused, o.log);
      return { claims: claims.metadata.resourceVersion, volumes: volumes.metadata.resourceVersion };
    },
    // Claims come in bursts (a Helm chart, a Job's claims): one round for the burst.
    changed: (client, seen) => claimsOrVolumesChanged(client, seen, o.signal, 300),
  });
}

type ServedVolume = NonNullable<SharedStorageOptions["volume"]>;

async function carryOut(client: KubeClient, o: SharedStorageOptions, v: ServedVolume, plan: SharedPlan): Promise<void> {
  for (const c of plan.create) {
    const dir = `${v.mountPath}/${c.dir}`;
    await o.host.mkdir(dir, 0o777);
    // 0777: the pod's user, not root, writes there (as local-path and heketi volumes allow).
    await o.host.chmod(dir, 0o777);
    await limitDirectory(o.host, v.name, c.dir, c.bytes);
    if (c.cloneFrom) await copyInto(o.host, `${v.mountPath}/${c.cloneFrom}`, dir);
    await client.create(VOLUMES, c.volume, o.signal);
    o.log.info("shared volume provisioned", { claim: `${c.claim.metadata.namespace}/${c.claim.metadata.name}`, dir: c.dir, bytes: c.bytes, clonedFrom: c.cloneFrom });
  }
  for (const e of plan.expand) {
    await limitDirectory(o.host, v.name, e.dir, e.bytes);
    await client.mergePatch(`${VOLUMES}/${encodeURIComponent(e.volumeName)}`, { spec: { capacity: { storage: e.size } } }, o.signal);
    const { namespace, name } = e.claim.metadata;
    await client.mergePatch(`/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}/status`, { status: { capacity: { storage: e.size } } }, o.signal);
    o.log.info("shared volume grown", { claim: `${namespace}/${name}`, size: e.size });
  }
  for (const r of plan.remove) {
    // The data first, then the object: a failed removal is retried, never leaves data without a volume.
    await unlimitDirectory(o.host, v.name, r.dir);
    const rm = await o.host.exec(["rm", "-rf", "--", `${v.mountPath}/${r.dir}`], { timeoutMs: 600_000 });
    if (rm.code !== 0) throw new Error(`removing ${r.dir} from the shared volume: ${rm.stderr.trim()}`);
    await client.remove(`${VOLUMES}/${encodeURIComponent(r.name)}`, o.signal);
    o.log.info("shared volume deleted", { dir: r.dir });
  }
}

/** A clone: the source directory's contents, owners and modes, into the new (limited) directory. */
async function copyInto(host: Host, from: string, to: string): Promise<void> {
  const r = await host.exec(["cp", "-a", "--", `${from}/.`, `${to}/`], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`copying ${from} into ${to}: ${r.stderr.trim().split("\n").slice(-3).join("; ")}`);
}

/** The volume's size (as configured) and free space (as its whole mount reports it, statfs). */
async function backendOf(host: Host, v: ServedVolume): Promise<SharedBackend> {
  // Never the root filesystem's numbers (nor directories made on it) while the mount is away.
  if ((await host.exec(["mountpoint", "-q", v.mountPath])).code !== 0) throw new TryAgainLater(`the shared volume to be mounted at ${v.mountPath}`);
  const r = await host.exec(["stat", "-f", "-c", "%S %b %a", v.mountPath]);
  const [block, total, free] = r.stdout.trim().split(/\s+/).map(Number) as [number, number, number];
  if (r.code !== 0 || !(block > 0) || !(total > 0)) throw new Error(`reading the size of ${v.mountPath}: ${r.stderr.trim()}`);
  // Claims may promise the size cluster.yaml gave the volume (the filesystem's own overhead is
  // not taken from users), and never more than is free right now.
  return { source: v.source, capacity: { totalBytes: v.capacityBytes, freeBytes: block * free } };
}
