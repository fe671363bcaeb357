/**
 * Error classes both sides use for control flow. Expected bad input becomes a `UserError`
 * (printed as one clear line, exit code 2); everything else keeps its `cause` chain.
 */

/** Bad input from a person or a file: printed without a stack trace. */
export class UserError extends Error {
  override name = "UserError";
}

/** A zod-validated input did not match its schema; `where` names the file or request. */
export class ValidationError extends UserError {
  override name = "ValidationError";
  constructor(
    readonly where: string,
    readonly problems: { path: string; message: string; line?: number }[],
  ) {
    super(
      `${where} is invalid:\n` +
        problems
          .map((p) => `  - ${p.line !== undefined ? `line ${p.line}: ` : ""}${p.path || "(root)"}: ${p.message}`)
          .join("\n"),
    );
  }
}

/** A condition the step waits on is not met yet; the executor retries with jittered backoff. */
export class TryAgainLater extends Error {
  override name = "TryAgainLater";
  constructor(
    /** What we are waiting for, shown to the user ("waiting for the API server at 10.0.0.2:6443"). */
    readonly waitingFor: string,
    options?: ErrorOptions,
  ) {
    super(`waiting for ${waitingFor}`, options);
  }
}

/**
 * An API error with a stable machine-readable code. The coordinator returns these as
 * `{ error: { code, message } }`; the agent turns them back into `ApiError`.
 */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Permanent errors must not be retried (bad token, bad CSR); 429/5xx are transient. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429 && this.status !== 408;
  }
}

/** Walks an error's cause chain into one line: "outer: middle: root". */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (cur instanceof Error) {
      parts.push(cur.message);
      cur = (cur as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(": ");
}
