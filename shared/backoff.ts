/**
 * Jittered exponential backoff and abortable sleeps, for every "not yet" wait on both sides
 * (coordinator unreachable, barrier not ready, step condition not met). Jitter spreads a whole
 * cluster's retries so they do not arrive at the coordinator in lock-step. Every timer is cleared
 * when its wait ends, so a finished wait never keeps the process alive.
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

/** Delay before retry number `attempt` (1-based): exponential, capped, jittered downwards. */
export function backoffDelay(attempt: number, backoff: Partial<Backoff> = {}, random: () => number = Math.random): number {
  const { initialMs, maxMs, jitter } = { ...DEFAULT_BACKOFF, ...backoff };
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return base * (1 - jitter + jitter * random());
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
