import { describe, expect, it } from "vitest";
import { createMetricsApi, type Caller, type Listed, type MetricsApiDeps } from "./metrics-api.js";
import { MetricsStore } from "./metrics-store.js";

const T0 = Date.parse("2026-12-02T12:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function store(): MetricsStore {
  const s = new MetricsStore();
  const sample = (t: number, cpu: number) => ({
    node: { nodeName: "n1", cpu: { time: at(t), usageCoreNanoSeconds: cpu }, memory: { time: at(t), workingSetBytes: 2 * 2 ** 30 } },
    pods: [{ podRef: { name: "web-1", namespace: "lab", uid: "u1" }, containers: [{ name: "app", startTime: at(-60), cpu: { time: at(t), usageCoreNanoSeconds: cpu / 10 }, memory: { time: at(t), workingSetBytes: 10 * 2 ** 20 } }] }],
  });
  s.record("n1", sample(0, 0), T0);
  s.record("n1", sample(15, 3e9), T0 + 15_000);
  return s;
}

const alice: Caller = { user: "alice", groups: ["system:authenticated"], extra: {} };

function api(over: Partial<MetricsApiDeps> = {}) {
  const calls: unknown[] = [];
  const app = createMetricsApi({
    store: store(),
    caller: () => alice,
    authorize: async (_c, a) => (a.namespace === "secret" ? { allowed: false, reason: "no RoleBinding" } : { allowed: true }),
    list: async (resource, namespace, query): Promise<Listed> => {
      calls.push({ resource, namespace, query });
      if (query.labelSelector === "a in (") return { ok: false, status: 400, message: "unable to parse requirement" };
      if (resource === "nodes") return { ok: true, items: query.fieldSelector === "metadata.name=gone" ? [] : [{ name: "n1", labels: { role: "x" } }, { name: "n2", labels: {} }] };
      return { ok: true, items: [{ name: "web-1", namespace: "lab", labels: { app: "web" } }] };
    },
    now: () => T0 + 20_000,
    ...over,
  });
  return { app, calls };
}

describe("metrics.k8s.io API", () => {
  it("answers discovery as the aggregator and kubectl expect", async () => {
    const { app } = api({ caller: () => undefined });
    const res = await app.request("/apis/metrics.k8s.io/v1beta1");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ kind: "APIResourceList", groupVersion: "metrics.k8s.io/v1beta1", resources: [{ name: "nodes", kind: "NodeMetrics", namespaced: false }, { name: "pods", kind: "PodMetrics", namespaced: true }] });
  });

  it("lists NodeMetrics in metrics-server's format, only for nodes with usage", async () => {
    const { app } = api();
    const body = (await (await app.request("/apis/metrics.k8s.io/v1beta1/nodes")).json()) as { kind: string; items: object[] };
    expect(body.kind).toBe("NodeMetricsList");
    expect(body.items).toEqual([{ metadata: { name: "n1", creationTimestamp: "2026-12-02T12:00:20Z", labels: { role: "x" } }, timestamp: "2026-12-02T12:00:15Z", window: "15s", usage: { cpu: "200000000n", memory: "2097152Ki" } }]);
  });

  it("gets one pod's metrics, and says NotFound for a pod it has none for", async () => {
    const { app, calls } = api();
    const pod = await app.request("/apis/metrics.k8s.io/v1beta1/namespaces/lab/pods/web-1");
    expect(await pod.json()).toMatchObject({ metadata: { name: "web-1", namespace: "lab" }, containers: [{ name: "app", usage: { cpu: "20000000n", memory: "10240Ki" } }] });
    expect(calls).toEqual([{ resource: "pods", namespace: "lab", query: { fieldSelector: "metadata.name=web-1" } }]);
    const gone = await app.request("/apis/metrics.k8s.io/v1beta1/nodes/gone");
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ kind: "Status", reason: "NotFound", message: 'nodemetrics.metrics.k8s.io "gone" not found' });
  });

  it("hands selectors to the API server and passes its refusal on", async () => {
    const { app, calls } = api();
    await app.request("/apis/metrics.k8s.io/v1beta1/namespaces/lab/pods?labelSelector=app%3Dweb");
    expect(calls).toEqual([{ resource: "pods", namespace: "lab", query: { labelSelector: "app=web", fieldSelector: undefined } }]);
    const bad = await app.request("/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%20in%20(");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ reason: "BadRequest", message: "unable to parse requirement" });
  });

  it("refuses requests without a forwarded user, and users RBAC does not allow", async () => {
    expect((await api({ caller: () => undefined }).app.request("/apis/metrics.k8s.io/v1beta1/nodes")).status).toBe(401);
    const denied = await api().app.request("/apis/metrics.k8s.io/v1beta1/namespaces/secret/pods");
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { message: string }).message).toBe('pods.metrics.k8s.io is forbidden: User "alice" cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "secret": no RoleBinding');
  });

  it("is read-only and has no watch", async () => {
    const { app } = api();
    expect((await app.request("/apis/metrics.k8s.io/v1beta1/nodes", { method: "POST", body: "{}" })).status).toBe(405);
    expect((await app.request("/apis/metrics.k8s.io/v1beta1/nodes?watch=true")).status).toBe(405);
    expect((await app.request("/apis/metrics.k8s.io/v1beta1/services")).status).toBe(404);
  });
});
