import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { serve } from "@hono/node-server";
import { Agent } from "undici";
import { z } from "zod";
import type { Logger } from "../../shared/log.js";
import { describeError } from "../../shared/errors.js";
import { sleep } from "../../shared/backoff.js";
import { KubeClient, listOf, type KubeCredentials } from "../kube/kube-client.js";
import { AccessReviews } from "./access-review.js";
import { distinctHeaders, frontProxyCaller } from "./front-proxy-caller.js";
import { scrapeKubelets } from "./kubelet-scraper.js";
import { createMetricsApi, type Listed } from "./metrics-api.js";
import { setMetricsEndpoint } from "./metrics-endpoints.js";
import { MetricsStore } from "./metrics-store.js";

export interface MetricsServerOptions extends KubeCredentials {
  /** This master's address: where the server listens, and what it puts into the Endpoints. */
  address: string;
  port: number;
  /** The front-proxy CA: only the API server's proxy client certificate may connect. */
  frontProxyCaFile: string;
  /** How often the kubelets are scraped (metrics-server's `--metric-resolution`). */
  resolutionMs: number;
  log: Logger;
  signal: AbortSignal;
}

const ObjectMeta = z.object({ metadata: z.object({ name: z.string(), namespace: z.string().optional(), labels: z.record(z.string(), z.string()).default({}) }) });

/**
 * metrics.k8s.io on a master (what metrics-server does, which cannot be had here): scrape every
 * kubelet's Summary API each resolution, keep the last two samples, serve NodeMetrics and
 * PodMetrics to the aggregator over TLS that admits only the front proxy. Its address joins the
 * `sprout-metrics` Endpoints only once it has usage to serve, and leaves them when it stops, so
 * the APIService is Available exactly while some master can answer.
 */
export async function runMetricsServer(o: MetricsServerOptions): Promise<void> {
  const [ca, cert, key, frontProxyCa] = await Promise.all([o.caFile, o.certFile, o.keyFile, o.frontProxyCaFile].map((f) => readFile(f)));
  const client = await KubeClient.open(o);
  const kubelets = new Agent({ connect: { ca, cert, key }, keepAliveTimeout: 60_000, connections: 2 });
  const store = new MetricsStore();
  const reviews = new AccessReviews(() => client);
  const app = createMetricsApi({
    store,
    caller: (c) => {
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      return incoming ? frontProxyCaller(incoming.socket as TLSSocket, incoming.headersDistinct ?? distinctHeaders(incoming.headers)) : undefined;
    },
    authorize: (caller, a) => reviews.authorize(caller, a),
    list: (resource, namespace, query) => listObjects(client, resource, namespace, query, o.signal),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: o.address,
        port: o.port,
        createServer,
        serverOptions: { cert, key, ca: frontProxyCa, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" },
      },
      () => resolve(s as Server),
    ) as Server;
    s.once("error", reject);
  });
  o.log.info("metrics.k8s.io serving", { address: `${o.address}:${o.port}` });
  let registered = false;
  let lastFailures = "";
  try {
    while (!o.signal.aborted) {
      const started = Date.now();
      try {
        const r = await scrapeKubelets(client, kubelets, store, Date.now, o.signal);
        // A node that stops answering keeps its last usage only briefly, as metrics-server does.
        store.prune(Date.now() - 3 * o.resolutionMs);
        const failures = r.failed.map((f) => `${f.node}: ${f.reason}`).join("; ");
        if (failures !== lastFailures && failures) o.log.warn("kubelets not scraped", { failed: r.failed });
        lastFailures = failures;
        // Checked every round: the Endpoints heal if someone deleted or rewrote them.
        if (r.scraped > 0 && (await setMetricsEndpoint(client, o.address, true, o.signal))) o.log.info("serving through the aggregator", { endpoint: o.address });
        registered ||= r.scraped > 0;
      } catch (err) {
        if (o.signal.aborted) break;
        o.log.warn("metrics round failed", { reason: describeError(err) });
      }
      await sleep(Math.max(0, o.resolutionMs - (Date.now() - started)), o.signal).catch(() => undefined);
    }
  } finally {
    if (registered) await setMetricsEndpoint(client, o.address, false, AbortSignal.timeout(5_000)).catch((err) => o.log.warn("could not leave the Endpoints", { reason: describeError(err) }));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await Promise.all([client.close(), kubelets.close()]);
  }
}

/** Nodes or Pods from the API server, with its own selector semantics (and its 400 for a bad one). */
async function listObjects(client: KubeClient, resource: "nodes" | "pods", namespace: string | undefined, query: { labelSelector?: string; fieldSelector?: string }, signal: AbortSignal): Promise<Listed> {
  const base = resource === "nodes" ? "/api/v1/nodes" : namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : "/api/v1/pods";
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""));
  const res = await client.read(`${base}${params.size > 0 ? `?${params}` : ""}`, listOf(ObjectMeta), signal);
  if (!res.ok) return { ok: false, status: res.status === 400 ? 400 : 500, message: res.message };
  return { ok: true, items: res.value.items.map((i) => ({ name: i.metadata.name, namespace: i.metadata.namespace, labels: i.metadata.labels })) };
}
