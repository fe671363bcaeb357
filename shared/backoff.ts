/**
 * Jittered exponential backoff for "not yet" waits (coordinator unreachable, barrier not ready).
 * Jitter spreads a whole cluster's retries so they do not arrive in lock-step.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Fraction of the delay that is randomized: 0.5 → delay × [0.5, 1.0]. */
  jitter?: number;
}

export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const initial = o.initialMs ?? 500;
  const max = o.maxMs ?? 10_000;
  const jitter = o.jitter ?? 0.5;
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return base * (1 - jitter * Math.random());
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason ?? new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
