import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/errors.js";
import type { AppEnv } from "../env.js";

/**
 * Token-bucket rate limit per client address. Joins are expensive (CSR signing) and arrive in
 * bursts when a whole cluster boots; refusing with 429 + Retry-After lets agents back off
 * instead of piling up requests the coordinator cannot serve.
 */
export function rateLimit(options: { perSecond: number; burst: number; onLimited?: () => void }): MiddlewareHandler<AppEnv> {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    const key = c.env?.incoming?.socket?.remoteAddress ?? "unknown";
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: options.burst, at: now };
    b.tokens = Math.min(options.burst, b.tokens + ((now - b.at) / 1000) * options.perSecond);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens < 1) {
      options.onLimited?.();
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / options.perSecond));
      throw new ApiError(429, "rate_limited", `too many join requests from ${key}; retry in ${wait}s`, wait);
    }
    b.tokens -= 1;
    if (buckets.size > 10_000) pruneFull(buckets, options.burst);
    await next();
  };
}

function pruneFull(buckets: Map<string, { tokens: number }>, burst: number): void {
  for (const [k, v] of buckets) if (v.tokens >= burst - 1) buckets.delete(k);
}
