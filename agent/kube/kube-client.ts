import { readFile } from "node:fs/promises";
import { Agent, request } from "undici";
import { z } from "zod";
import { parseJsonWith } from "../../shared/validate.js";

/** A Kubernetes List response: its items, and the resourceVersion a watch continues from. */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ metadata: z.object({ resourceVersion: z.string().optional() }).default({}), items: z.array(item) });

/** TLS client identity for the API server: a controller's own certificate, verified against the cluster CA. */
export interface KubeCredentials {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Just enough of a Kubernetes API client for list + watch, over mTLS. */
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
    const res = await request(`${this.server}${path}`, { dispatcher: this.dispatcher, signal, headersTimeout: 15_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    return parseJsonWith(schema, text, `API server response for ${path}`);
  }

  /** Creates an object (POST); a 409 (it exists already) is not an error. */
  async create(path: string, body: unknown, signal?: AbortSignal): Promise<void> {
    await this.send("POST", path, "application/json", body, [200, 201, 409], signal);
  }

  /** JSON merge patch (RFC 7386), e.g. an object's status subresource. */
  async mergePatch(path: string, body: unknown, signal?: AbortSignal): Promise<void> {
    await this.send("PATCH", path, "application/merge-patch+json", body, [200], signal);
  }

  private async send(method: "POST" | "PATCH", path: string, contentType: string, body: unknown, ok: number[], signal?: AbortSignal): Promise<void> {
    const res = await request(`${this.server}${path}`, { dispatcher: this.dispatcher, method, headers: { "content-type": contentType }, body: JSON.stringify(body), signal, headersTimeout: 15_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (!ok.includes(res.statusCode)) throw new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
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
      throw new Error(`watch ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
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
