import { hostname } from "node:os";
import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import type { Host } from "../host/host.js";
import { WarningEvents } from "../kube/events.js";
import { listOf, type KubeClient, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { firstChange } from "../kube/first-change.js";
import { planLocalVolumes } from "./local-provisioning.js";
import { Claim, StorageClass, Volume } from "../kube/storage-objects.js";

const CLAIMS = "/api/v1/persistentvolumeclaims";
const VOLUMES = "/api/v1/persistentvolumes";

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
      for (const r of plan.refused) {
        const { name, namespace, uid } = r.claim.metadata;
        await events.warn(client, { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid }, r.reason, r.message).catch((err: unknown) => o.log.warn("could not record an Event", { claim: `${namespace}/${name}`, reason: String(err) }));
      }
      return { claims: claims.metadata.resourceVersion, volumes: volumes.metadata.resourceVersion };
    },
    changed: async (client, seen) => {
      await firstChange(client, [[CLAIMS, seen.claims], [VOLUMES, seen.volumes]], o.signal);
      await sleep(500, o.signal).catch(() => undefined);
    },
  });
}

/** The data first, then the object: a failed removal is retried, never leaves data without a volume. */
async function removeVolume(client: KubeClient, o: LocalStorageOptions, r: { name: string; dir: string }): Promise<void> {
  const rm = await o.host.exec(["rm", "-rf", "--one-file-system", "--", r.dir]);
  if (rm.code !== 0) throw new Error(`removing ${r.dir}: ${rm.stderr.trim()}`);
  await client.remove(`${VOLUMES}/${encodeURIComponent(r.name)}`, o.signal);
  o.log.info("local volume deleted", { dir: r.dir });
}
