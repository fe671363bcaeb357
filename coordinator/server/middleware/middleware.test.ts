import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ApiError } from "../../../shared/errors.js";
import { createLogger } from "../../../shared/log.js";
import type { AppEnv } from "../env.js";
import { errorHandler } from "./error-handler.js";
import { jsonBody } from "./json-body.js";
import { rateLimit } from "./rate-limit.js";

const Body = z.object({ name: z.string(), nested: z.object({ count: z.number().int() }) });
type ErrorJson = { error: { code: string; message: string } };

function makeApp(options: { perSecond?: number; burst?: number; maxSize?: number } = {}) {
  const logged: string[] = [];
  const log = createLogger({ component: "test", write: (line) => void logged.push(line) });
  const limited = { count: 0 };
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(log));
  app.post(
    "/echo",
    rateLimit({ perSecond: options.perSecond ?? 1000, burst: options.burst ?? 1000, onLimited: () => limited.count++ }),
    bodyLimit({
      maxSize: options.maxSize ?? 1024,
      onError: () => {
        throw new ApiError(413, "body_too_large", `request larger than ${options.maxSize ?? 1024} bytes`);
      },
    }),
    async (c) => c.json(await jsonBody(c, Body, "echo request")),
  );
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  app.get("/api-error", () => {
    throw new ApiError(409, "conflict_here", "it clashes");
  });
  return { app, logged, limited };
}

const post = (app: Hono<AppEnv>, body: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
  app.request("/echo", { method: "POST", body, headers });

const good = JSON.stringify({ name: "n1", nested: { count: 2 } });

describe("jsonBody + errorHandler", () => {
  it("passes a valid body through", async () => {
    const { app } = makeApp();
    const res = await post(app, good);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "n1", nested: { count: 2 } });
  });

  it("answers malformed JSON with 400 invalid_request saying so", async () => {
    const { app } = makeApp();
    const res = await post(app, '{"name": "n1", ');
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toContain("malformed JSON");
    expect(body.error.message).toContain("echo request");
  });

  it("answers a schema error with 400 naming the field", async () => {
    const { app } = makeApp();
    const res = await post(app, JSON.stringify({ name: "n1", nested: { count: "two" } }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toContain("nested.count");
  });

  it("says which Content-Type it expected when the header is wrong and the body is not JSON", async () => {
    const { app } = makeApp();
    const res = await post(app, "name=n1", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.message).toContain("expected Content-Type: application/json");
  });

  it("answers an oversized body with 413 body_too_large", async () => {
    const { app } = makeApp({ maxSize: 64 });
    const big = JSON.stringify({ name: "x".repeat(200), nested: { count: 1 } });
    const res = await post(app, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe("body_too_large");
  });

  it("answers an oversized streamed body (no Content-Length) with 413 too", async () => {
    const { app } = makeApp({ maxSize: 64 });
    const chunks = [JSON.stringify({ name: "x".repeat(100) }).slice(0, 60), "y".repeat(100)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const res = await app.request("/echo", { method: "POST", body: stream, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe("body_too_large");
  });

  it("passes ApiErrors through with their status and code", async () => {
    const { app } = makeApp();
    const res = await app.request("/api-error");
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: "conflict_here", message: "it clashes" } });
  });

  it("hides unexpected errors behind a 500 and logs them", async () => {
    const { app, logged } = makeApp();
    const res = await app.request("/boom");
    expect(res.status).toBe(500);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("internal");
    expect(JSON.stringify(body)).not.toContain("secret internals");
    expect(logged.some((l) => l.includes("secret internals"))).toBe(true);
  });

  it("answers unknown routes with 404", async () => {
    const { app } = makeApp();
    expect((await app.request("/nope")).status).toBe(404);
  });
});

describe("rateLimit", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_700_000_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lets a burst through, then answers 429 with Retry-After", async () => {
    const { app, limited } = makeApp({ perSecond: 2, burst: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(app, good)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);

    const res = await post(app, good);
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("1");
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/retry in 1s/);
    expect(limited.count).toBe(1);
  });

  it("refills at perSecond", async () => {
    const { app } = makeApp({ perSecond: 2, burst: 2 });
    expect((await post(app, good)).status).toBe(200);
    expect((await post(app, good)).status).toBe(200);
    expect((await post(app, good)).status).toBe(429);
    vi.setSystemTime(Date.now() + 499);
    expect((await post(app, good)).status).toBe(429);
    vi.setSystemTime(Date.now() + 2);
    expect((await post(app, good)).status).toBe(200);
    expect((await post(app, good)).status).toBe(429);
    vi.setSystemTime(Date.now() + 60_000); // never more than the burst
    expect((await post(app, good)).status).toBe(200);
    expect((await post(app, good)).status).toBe(200);
    expect((await post(app, good)).status).toBe(429);
  });

  it("asks slow refills to wait longer", async () => {
    const { app } = makeApp({ perSecond: 0.1, burst: 1 });
    expect((await post(app, good)).status).toBe(200);
    const res = await post(app, good);
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("10");
  });

  it("refuses before reading the body, so floods cost nothing", async () => {
    const { app } = makeApp({ perSecond: 1, burst: 1 });
    expect((await post(app, good)).status).toBe(200);
    const res = await post(app, "{not json");
    expect(res.status).toBe(429);
  });
});
