import { ApiError, TryAgainLater, UserError, describeError } from "../../shared/errors.js";
import { backoffDelay, sleep } from "../../shared/backoff.js";
import type { Logger } from "../../shared/log.js";

/**
 * A coordinator that is restarting, overloaded (429) or briefly unreachable is a "not yet", not a
 * failure: the node keeps its progress and asks again. Only a definite refusal (4xx) is final.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return !err.permanent;
  // A response that fails validation will fail the same way next time.
  if (err instanceof UserError || err instanceof TryAgainLater) return false;
  return err instanceof Error;
}

/** Retries `fn` with jittered backoff while its failures are transient. */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, options: { log: Logger; signal?: AbortSignal; maxDelayMs?: number }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, { initialMs: 250, maxMs: options.maxDelayMs ?? 10_000 });
      options.log.warn(`${what} failed; retrying`, { attempt, reason: describeError(err), retryInMs: Math.round(delay) });
      await sleep(delay, options.signal);
    }
  }
}

/** For executor conditions: a transient error while asking becomes `TryAgainLater`. */
export async function askOrWait<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isTransient(err)) throw new TryAgainLater(`the coordinator to answer (${what}: ${describeError(err)})`, { cause: err });
    throw err;
  }
}
