import { hostname } from "node:os";
import type { Logger } from "../../shared/log.js";
import type { Host } from "../host/host.js";
import { WarningEvents } from "../kube/events.js";
import { listOf, type KubeClient, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { CLAIMS, claimsOrVolumesChanged, VOLUMES, warnClaims } from "../kube/claim-rounds.js";
import { planLocalVolumes } from "./local-provisioning.js";
import { Claim, StorageClass, Volume } from "../kube/storage-objects.js";


export interface LocalStorageOptions extends KubeCredentials {
  nodeName: string;
  className: string;
  baseDir: string;
  host: Host;
  log: Logger;
  signal: AbortSignal;
}

/**
 * Every node's local-volume provisioner (agent/local-storage/local-provisioning.ts): lists claims
 * and volumes, makes the directories and PersistentVolumes of the claims the scheduler put on
 * this node, removes released ones whose policy is Delete, and waits for the next change to
 * either list.
 */
export async function runLocalStorageController(o: LocalStorageOptions): Promise<void> {
  const events = new WarningEvents({ component: "sprout-local-storage", host: o.nodeName || hostname() }, o.signal);
  await reconcileLoop({ ...o, name: "local storage" }, {
    reconcile: async (client) => {
      const [claims, volumes, cls] = await Promise.all([
        client.list(CLAIMS, listOf(Claim), o.signal),
        client.list(VOLUMES, listOf(Volume), o.signal),
        client.getIfExists(`/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(o.className)}`, StorageClass, o.signal),
      ]);
      const plan = planLocalVolumes(claims.items, volumes.items, { nodeName: o.nodeName, className: o.className, reclaimPolicy: cls?.reclaimPolicy ?? "Delete", baseDir: o.baseDir });
      for (const c of plan.create) {
        await o.host.mkdir(c.dir, 0o777);
        // 0777 as local-path makes it: the pod's user, not root, writes there.
        await o.host.chmod(c.dir, 0o777);
        await client.create(VOLUMES, c.volume, o.signal);
        o.log.info("local volume provisioned", { dir: c.dir });
      }
      for (const r of plan.remove) await removeVolume(client, o, r);
      await warnClaims(client, events, plan.refused, o.log);
      return { claims: claims.metadata.resourceVersion, volumes: volumes.metadata.resourceVersion };
    },
    changed: (client, seen) => claimsOrVolumesChanged(client, seen, o.signal, 500),
  });
}

/** The data first, then the object: a failed removal is retried, never leaves data without a volume. */
async function removeVolume(client: KubeClient, o: LocalStorageOptions, r: { name: string; dir: string }): Promise<void> {
  const rm = await o.host.exec(["rm", "-rf", "--one-file-system", "--", r.dir]);
  if (rm.code !== 0) throw new Error(`removing ${r.dir}: ${rm.stderr.trim()}`);
  await client.remove(`${VOLUMES}/${encodeURIComponent(r.name)}`, o.signal);
  o.log.info("local volume deleted", { dir: r.dir });
}
