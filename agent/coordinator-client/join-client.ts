import { ApiError, describeError } from "../../shared/errors.js";
import { API, JoinResponse, type JoinRequest } from "../../shared/join.js";
import { backoffDelay, sleep } from "../../shared/backoff.js";
import type { Logger } from "../../shared/log.js";
import { CaPinMismatch, pinnedAgent } from "./pinned-tls.js";
import { requestJson } from "../../shared/http-json.js";

/**
 * Joins with jittered exponential backoff while the coordinator is unreachable, overloaded
 * (429) or failing (5xx). A refusal (bad token, bad CSR) or a CA pin mismatch is final: retrying
 * cannot fix it, and with a wrong pin we must not keep offering the token to an impostor.
 */
export async function joinWithRetry(
  coordinators: string[],
  caPin: string,
  req: JoinRequest,
  options: { log: Logger; signal?: AbortSignal; deadlineMs?: number; onWaiting?: (reason: string, attempt: number) => void },
): Promise<{ response: JoinResponse; coordinator: string }> {
  const started = Date.now();
  const agent = pinnedAgent(caPin);
  try {
    for (let attempt = 1; ; attempt++) {
      const url = coordinators[(attempt - 1) % coordinators.length]!;
      try {
        const response = await requestJson(new URL(API.join, url).href, JoinResponse, { dispatcher: agent, method: "POST", body: req, signal: options.signal });
        return { response, coordinator: url };
      } catch (err) {
        if (isFinal(err)) throw err;
        const reason = describeError(err);
        if (options.deadlineMs !== undefined && Date.now() - started > options.deadlineMs) {
          throw new Error(`could not join within ${Math.round(options.deadlineMs / 1000)}s: ${reason}`, { cause: err });
        }
        const retryAfterMs = err instanceof ApiError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
        const delay = Math.max(retryAfterMs * (1 + Math.random() * 0.5), backoffDelay(attempt, { initialMs: 500, maxMs: 15_000 }));
        options.onWaiting?.(`coordinator at ${url}: ${reason}`, attempt);
        options.log.warn("join attempt failed; retrying", { coordinator: url, attempt, reason, retryInMs: Math.round(delay) });
        await sleep(delay, options.signal);
      }
    }
  } finally {
    await agent.close();
  }
}

function isFinal(err: unknown): boolean {
  if (err instanceof CaPinMismatch) return true;
  if (hasCause(err, CaPinMismatch)) return true;
  return err instanceof ApiError && err.permanent;
}

function hasCause(err: unknown, cls: new (...a: never[]) => Error): boolean {
  for (let cur = err, i = 0; cur instanceof Error && i < 8; cur = (cur as { cause?: unknown }).cause, i++) if (cur instanceof cls) return true;
  return false;
}
