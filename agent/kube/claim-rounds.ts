import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import type { WarningEvents } from "./events.js";
import type { KubeClient } from "./kube-client.js";
import { firstChange } from "./first-change.js";
import type { Claim } from "./storage-objects.js";

/** What Sprout's volume provisioners (local and shared) list, and watch for the next round. */
export const CLAIMS = "/api/v1/persistentvolumeclaims";
export const VOLUMES = "/api/v1/persistentvolumes";

/**
 * A Warning Event on each claim a provisioner cannot serve. Recording one may fail (the API
 * server busy, the claim just deleted); that is logged and never stops the round.
 */
export async function warnClaims(client: KubeClient, events: WarningEvents, refused: { claim: Claim; reason: string; message: string }[], log: Logger): Promise<void> {
  for (const r of refused) {
    const { name, namespace, uid } = r.claim.metadata;
    await events.warn(client, { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid }, r.reason, r.message).catch((err: unknown) => log.warn("could not record an Event", { claim: `${namespace}/${name}`, reason: String(err) }));
  }
}

/** Resolves at the first change to claims or volumes after the lists seen, then lets a burst settle. */
export async function claimsOrVolumesChanged(client: KubeClient, seen: { claims?: string; volumes?: string }, signal: AbortSignal, settleMs: number): Promise<void> {
  await firstChange(client, [[CLAIMS, seen.claims], [VOLUMES, seen.volumes]], signal);
  await sleep(settleMs, signal).catch(() => undefined);
}
