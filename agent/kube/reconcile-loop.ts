import type { Logger } from "../../shared/log.js";
import { describeError } from "../../shared/errors.js";
import { backoffDelay, sleep } from "../../shared/backoff.js";
import { KubeClient, type KubeCredentials } from "./kube-client.js";

/** One controller's work: bring things in line, then wait for what it watches to change. */
export interface Reconciler<T> {
  reconcile(client: KubeClient): Promise<T>;
  /** Resolves at the next change after what `reconcile` saw (its result). */
  changed(client: KubeClient, seen: T): Promise<void>;
}

/**
 * The loop every node controller runs: reconcile, wait for a change, again, over one client. A
 * failure (API server away, a refused change) is retried with backoff on a fresh connection; a
 * successful reconcile resets the backoff. What the controller already did stays in place.
 */
export async function reconcileLoop<T>(o: KubeCredentials & { name: string; log: Logger; signal: AbortSignal }, r: Reconciler<T>): Promise<void> {
  let failures = 0;
  let client: KubeClient | undefined;
  while (!o.signal.aborted) {
    try {
      client ??= await KubeClient.open(o);
      const seen = await r.reconcile(client);
      failures = 0;
      await r.changed(client, seen);
    } catch (err) {
      if (o.signal.aborted) break;
      failures++;
      const delay = backoffDelay(failures, { initialMs: 500, maxMs: 15_000 });
      o.log.warn(`${o.name}: retrying`, { reason: describeError(err), retryInMs: Math.round(delay) });
      await client?.close().catch(() => undefined);
      client = undefined;
      await sleep(delay, o.signal).catch(() => undefined);
    }
  }
  await client?.close().catch(() => undefined);
}
