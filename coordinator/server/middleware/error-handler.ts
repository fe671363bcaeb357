import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, ValidationError } from "../../../shared/errors.js";
import type { ErrorBody } from "../../../shared/join.js";
import type { Logger } from "../../../shared/log.js";

/** The app's one `onError`: every failure becomes `{ error: { code, message } }` with a fitting status. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds) c.header("Retry-After", String(err.retryAfterSeconds));
      return c.json(body(err.code, err.message), err.status as 400);
    }
    if (err instanceof ValidationError) return c.json(body("invalid_request", err.message), 400);
    if (err instanceof HTTPException) {
      const code = err.status === 413 ? "body_too_large" : "http_error";
      return c.json(body(code, err.message || `HTTP ${err.status}`), err.status);
    }
    log.error("request failed", { path: c.req.path, error: err.message, stack: err.stack });
    return c.json(body("internal", "internal error; see the coordinator log"), 500);
  };
}

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
