/**
 * Waiting primitives for the executor. Every timer is cleared when its wait ends, so a finished
 * run leaves nothing behind that keeps the process alive, and every wait ends promptly on abort.
 */

export interface Backoff {
  /** First retry delay. */
  initialMs: number;
  /** Ceiling of the exponential growth. */
  maxMs: number;
  /** Fraction of each delay that is randomised (0 = fixed, 0.5 = between 50% and 100%). */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, jittered downwards so
 * a whole cluster of agents waiting on the same barrier does not poll the coordinator in step.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return base * (1 - backoff.jitter + backoff.jitter * random());
}

/** The reason an aborted signal carries, always as something throwable with a message. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error("aborted");
}

/** Resolves after `ms`; rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

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
