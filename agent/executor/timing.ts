import { abortReason } from "../../shared/backoff.js";

/**
 * Deadlines for the executor's steps. Backoff and sleeps are shared with the coordinator
 * client (shared/backoff.ts).
 */

/**
 * Settles like `work`, unless `ms` pass first (rejects with `onTimeout()`) or `signal` aborts.
 * The work itself cannot be cancelled — a hung `systemctl start` keeps running — but the step
 * stops waiting for it, which is what a deadline promises.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error, signal?: AbortSignal): Promise<T> {
  // When the deadline or the abort wins, nobody awaits `work` any more; its later rejection
  // must not surface as an unhandled rejection.
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(onTimeout());
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}
