import { request, type Dispatcher } from "undici";
import type { z } from "zod";
import { ApiError } from "./errors.js";
import { ErrorBody } from "./join.js";
import { parseJsonWith } from "./validate.js";

/** One JSON request to the coordinator; non-2xx answers become `ApiError` with the server's code. */
export async function requestJson<S extends z.ZodType>(
  url: string,
  schema: S,
  options: { dispatcher: Dispatcher; method?: "GET" | "POST" | "DELETE"; body?: unknown; signal?: AbortSignal; timeoutMs?: number },
): Promise<z.infer<S>> {
  const res = await request(url, {
    method: options.method ?? "GET",
    dispatcher: options.dispatcher,
    headers: options.body === undefined ? {} : { "content-type": "application/json" },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    headersTimeout: options.timeoutMs ?? 30_000,
    bodyTimeout: options.timeoutMs ?? 30_000,
  });
  const text = await res.body.text();
  if (res.statusCode >= 200 && res.statusCode < 300) return parseJsonWith(schema, text, `coordinator response from ${url}`);
  const retryAfter = Number(res.headers["retry-after"]) || undefined;
  const parsed = ErrorBody.safeParse(safeJson(text));
  if (parsed.success) throw new ApiError(res.statusCode, parsed.data.error.code, parsed.data.error.message, retryAfter);
  throw new ApiError(res.statusCode, "http_error", `HTTP ${res.statusCode} from ${url}: ${text.slice(0, 200)}`, retryAfter);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
