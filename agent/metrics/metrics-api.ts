import { Hono, type Context } from "hono";
import type { MetricsStore, PodUsage, Usage } from "./metrics-store.js";

/**
 * The `metrics.k8s.io/v1beta1` API as metrics-server serves it, behind the API server's
 * aggregator: NodeMetrics and PodMetrics, get and list, with label and field selectors. The
 * selectors are the API server's own: a list first asks it for the matching Nodes or Pods (which
 * also validates the selector and supplies the labels), then joins the usage this server holds.
 * Every resource request is authorized for the user the aggregator names, by a
 * SubjectAccessReview, so `kubectl top` obeys RBAC exactly as with metrics-server.
 */
export const GROUP = "metrics.k8s.io";
export const VERSION = "v1beta1";
const GROUP_VERSION = `${GROUP}/${VERSION}`;
const PREFIX = `/apis/${GROUP}/${VERSION}`;

/** The user the API server's front proxy forwards (X-Remote-User, -Group, -Extra-*). */
export interface Caller {
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface ResourceAttributes {
  resource: "nodes" | "pods";
  verb: "get" | "list";
  namespace?: string;
  name?: string;
}

/** Nodes or Pods as the API server listed them, or its refusal (a bad selector: 400). */
export type Listed = { ok: true; items: { name: string; namespace?: string; labels: Record<string, string>; creationTimestamp?: string }[] } | { ok: false; status: number; message: string };

export interface MetricsApiDeps {
  store: MetricsStore;
  /** The forwarded user; undefined when the request names none. */
  caller(c: Context): Caller | undefined;
  /** Allowed, or why not. */
  authorize(caller: Caller, attributes: ResourceAttributes): Promise<{ allowed: true } | { allowed: false; reason: string }>;
  list(resource: "nodes" | "pods", namespace: string | undefined, query: { labelSelector?: string; fieldSelector?: string }): Promise<Listed>;
  now?: () => number;
}

const API_RESOURCES = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: GROUP_VERSION,
  resources: [
    { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
    { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
  ],
};
const API_GROUP = { kind: "APIGroup", apiVersion: "v1", name: GROUP, versions: [{ groupVersion: GROUP_VERSION, version: VERSION }], preferredVersion: { groupVersion: GROUP_VERSION, version: VERSION } };

export function createMetricsApi(d: MetricsApiDeps): Hono {
  const app = new Hono();
  const now = d.now ?? Date.now;
  // Discovery: what the aggregator's availability check and kubectl's discovery read. The TLS
  // layer admits only the front proxy, so this is no more public than the API server's own.
  app.get("/apis", (c) => c.json({ kind: "APIGroupList", apiVersion: "v1", groups: [API_GROUP] }));
  app.get(`/apis/${GROUP}`, (c) => c.json(API_GROUP));
  app.get(PREFIX, (c) => c.json(API_RESOURCES));
  for (const path of ["/healthz", "/livez", "/readyz"]) app.get(path, (c) => c.text("ok"));

  const serve = async (c: Context, a: ResourceAttributes) => {
    if (c.req.query("watch") === "true" || c.req.query("watch") === "1") return failure(c, 405, "MethodNotAllowed", `${a.resource}.${GROUP}: watch is not supported`);
    const caller = d.caller(c);
    if (!caller) return failure(c, 401, "Unauthorized", "no user: requests must come through the API server's aggregator");
    const verdict = await d.authorize(caller, a);
    if (!verdict.allowed) return failure(c, 403, "Forbidden", forbiddenMessage(caller, a, verdict.reason));
    const query = a.name ? { fieldSelector: `metadata.name=${a.name}` } : { labelSelector: c.req.query("labelSelector"), fieldSelector: c.req.query("fieldSelector") };
    const listed = await d.list(a.resource, a.namespace, query);
    if (!listed.ok) return failure(c, listed.status, listed.status === 400 ? "BadRequest" : "InternalError", listed.message);
    const items = a.resource === "nodes" ? nodeItems(d.store, listed.items, now()) : podItems(d.store, listed.items, now());
    if (a.name) {
      if (items.length === 0) return failure(c, 404, "NotFound", `${a.resource === "nodes" ? "nodemetrics" : "podmetrics"}.${GROUP} "${a.name}" not found`, { name: a.name, group: GROUP, kind: a.resource });
      return c.json(items[0]);
    }
    return c.json({ kind: a.resource === "nodes" ? "NodeMetricsList" : "PodMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items });
  };
  app.get(`${PREFIX}/nodes`, (c) => serve(c, { resource: "nodes", verb: "list" }));
  app.get(`${PREFIX}/nodes/:name`, (c) => serve(c, { resource: "nodes", verb: "get", name: c.req.param("name") }));
  app.get(`${PREFIX}/pods`, (c) => serve(c, { resource: "pods", verb: "list" }));
  app.get(`${PREFIX}/namespaces/:namespace/pods`, (c) => serve(c, { resource: "pods", verb: "list", namespace: c.req.param("namespace") }));
  app.get(`${PREFIX}/namespaces/:namespace/pods/:name`, (c) => serve(c, { resource: "pods", verb: "get", namespace: c.req.param("namespace"), name: c.req.param("name") }));
  app.all(`${PREFIX}/*`, (c) => (c.req.method === "GET" ? failure(c, 404, "NotFound", `the server could not find the requested resource (${c.req.path})`) : failure(c, 405, "MethodNotAllowed", `${c.req.method} is not supported: ${GROUP} is read-only`)));
  app.notFound((c) => failure(c, 404, "NotFound", `the server could not find the requested resource (${c.req.path})`));
  return app;
}

function nodeItems(store: MetricsStore, nodes: Extract<Listed, { ok: true }>["items"], now: number): object[] {
  return nodes.flatMap((n) => {
    const u = store.node(n.name);
    return u ? [{ metadata: { name: n.name, creationTimestamp: iso(now), labels: n.labels }, timestamp: iso(u.timestamp), window: duration(u.windowMs), usage: usage(u) }] : [];
  });
}

function podItems(store: MetricsStore, pods: Extract<Listed, { ok: true }>["items"], now: number): object[] {
  const index = store.podIndex();
  return pods.flatMap((p) => {
    const u: PodUsage | undefined = index.get(`${p.namespace}/${p.name}`);
    if (!u) return [];
    return [
      {
        metadata: { name: p.name, namespace: p.namespace, creationTimestamp: iso(now), labels: p.labels },
        timestamp: iso(u.timestamp),
        window: duration(u.windowMs),
        containers: u.containers.map((c) => ({ name: c.name, usage: usage(c) })),
      },
    ];
  });
}

/** Quantities as metrics-server writes them: CPU in nanocores, memory in KiB. */
function usage(u: Pick<Usage, "cpuNanoCores" | "memoryBytes">): { cpu: string; memory: string } {
  return { cpu: `${u.cpuNanoCores}n`, memory: `${Math.floor(u.memoryBytes / 1024)}Ki` };
}

/** RFC 3339 at second precision, as metav1.Time writes it. */
function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A Go duration string (metav1.Duration). */
function duration(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, "")}s`;
}

function forbiddenMessage(caller: Caller, a: ResourceAttributes, reason: string): string {
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${a.resource}.${GROUP}${a.name ? ` "${a.name}"` : ""} is forbidden: User "${caller.user}" cannot ${a.verb} resource "${a.resource}" in API group "${GROUP}" ${scope}${reason ? `: ${reason}` : ""}`;
}

function failure(c: Context, code: number, reason: string, message: string, details?: object) {
  return c.json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code }, code as 400);
}
