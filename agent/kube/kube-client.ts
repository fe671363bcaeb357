import { readFile } from "node:fs/promises";
import { Agent, request } from "undici";
import { z } from "zod";
import { parseJsonWith } from "../../shared/validate.js";

/** A Kubernetes List response: its items, and the resourceVersion a watch continues from. */
/**
 * A list response whose items are read with `item`. An item that does not parse is left out
 * rather than failing the list: one odd object (a field this version sends as null, a user's
 * typo the API accepted) must not stop a controller for every other object.
 */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({
    metadata: z.object({ resourceVersion: z.string().optional() }).default({}),
    items: z.array(z.unknown()).transform((all) => all.flatMap((x) => {
      const r = item.safeParse(x);
      return r.success ? [r.data as z.output<T>] : [];
    })),
  });

/** TLS client identity for the API server: a controller's own certificate, verified against the cluster CA. */
export interface KubeCredentials {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Just enough of a Kubernetes API client for Sprout's controllers, over mTLS. */
export class KubeClient {
  private constructor(
    private readonly server: string,
    private readonly dispatcher: Agent,
  ) {}

  static async open(c: KubeCredentials): Promise<KubeClient> {
    const [ca, cert, key] = await Promise.all([readFile(c.caFile), readFile(c.certFile), readFile(c.keyFile)]);
    return new KubeClient(c.server.replace(/\/+$/, ""), new Agent({ connect: { ca, cert, key }, keepAliveTimeout: 30_000 }));
  }

  async list<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.infer<S>> {
    const res = await this.read(path, schema, signal);
    if (!res.ok) throw failure("GET", path, res.status, res.message);
    return res.value;
  }

  /** GET of one object; undefined when it does not exist (404). */
  async getIfExists<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.infer<S> | undefined> {
    const res = await this.read(path, schema, signal);
    if (res.ok) return res.value;
    if (res.status === 404) return undefined;
    throw failure("GET", path, res.status, res.message);
  }

  /** GET that hands a refusal back instead of throwing: the status and the API server's message. */
  async read<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<{ ok: true; value: z.infer<S> } | { ok: false; status: number; message: string }> {
    const res = await this.call("GET", path, undefined, signal);
    if (res.status === 200) return { ok: true, value: parseJsonWith(schema, res.text, `API server response for ${path}`) };
    return { ok: false, status: res.status, message: statusMessage(res.text) };
  }

  /** POST whose answer is the point, such as a SubjectAccessReview. */
  async review<S extends z.ZodType>(path: string, body: unknown, schema: S, signal?: AbortSignal): Promise<z.infer<S>> {
    const res = await this.call("POST", path, { contentType: "application/json", body }, signal);
    if (res.status !== 200 && res.status !== 201) throw failure("POST", path, res.status, res.text);
    return parseJsonWith(schema, res.text, `API server response for ${path}`);
  }

  /**
   * PUT of an object read before, carrying its resourceVersion: false when someone changed it
   * in between (409), so the caller reads it again and retries.
   */
  async replace(path: string, body: unknown, signal?: AbortSignal): Promise<boolean> {
    const res = await this.call("PUT", path, { contentType: "application/json", body }, signal);
    if (res.status === 409) return false;
    if (res.status !== 200 && res.status !== 201) throw failure("PUT", path, res.status, res.text);
    return true;
  }

  /** Creates an object (POST); a 409 (it exists already) is not an error. */
  async create(path: string, body: unknown, signal?: AbortSignal): Promise<void> {
    await this.send("POST", path, "application/json", body, [200, 201, 409], signal);
  }

  /** JSON merge patch (RFC 7386), e.g. an object's status subresource. */
  async mergePatch(path: string, body: unknown, signal?: AbortSignal): Promise<void> {
    await this.send("PATCH", path, "application/merge-patch+json", body, [200], signal);
  }

  /** DELETE of one object; one that is gone already (404) is not an error. */
  async remove(path: string, signal?: AbortSignal): Promise<void> {
    const res = await this.call("DELETE", path, undefined, signal);
    if (res.status !== 200 && res.status !== 202 && res.status !== 404) throw failure("DELETE", path, res.status, res.text);
  }

  private async send(method: "POST" | "PATCH", path: string, contentType: string, body: unknown, ok: number[], signal?: AbortSignal): Promise<void> {
    const res = await this.call(method, path, { contentType, body }, signal);
    if (!ok.includes(res.status)) throw failure(method, path, res.status, res.text);
  }

  private async call(method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", path: string, payload: { contentType: string; body: unknown } | undefined, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    const res = await request(`${this.server}${path}`, {
      dispatcher: this.dispatcher,
      method,
      ...(payload ? { headers: { "content-type": payload.contentType }, body: JSON.stringify(payload.body) } : {}),
      signal,
      headersTimeout: 15_000,
      bodyTimeout: 30_000,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /**
   * Resolves at the first change after `resourceVersion` (any watch event), when the server
   * ends the watch (`timeoutSeconds`), or on abort. Used as a trigger to list again.
   */
  async changed(path: string, resourceVersion: string | undefined, signal: AbortSignal): Promise<void> {
    const query = `watch=1&allowWatchBookmarks=false&timeoutSeconds=60${resourceVersion ? `&resourceVersion=${encodeURIComponent(resourceVersion)}` : ""}`;
    const res = await request(`${this.server}${path}${path.includes("?") ? "&" : "?"}${query}`, { dispatcher: this.dispatcher, signal, headersTimeout: 15_000, bodyTimeout: 0 });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw failure("watch", path, res.statusCode, text);
    }
    try {
      for await (const chunk of res.body) if ((chunk as Buffer).length > 0) return;
    } finally {
      res.body.destroy();
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** A refused request, with the start of what the API server said. */
function failure(method: string, path: string, status: number, body: string): Error {
  return new Error(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
}

/** The message of a Kubernetes Status body, or the body itself. */
function statusMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON: the text is the message
  }
  return text;
}
