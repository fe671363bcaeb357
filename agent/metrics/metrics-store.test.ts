import { describe, expect, it } from "vitest";
import type { KubeletSummary } from "./kubelet-summary.js";
import { MetricsStore } from "./metrics-store.js";

const T0 = Date.parse("2026-12-02T12:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function summary(s: number, nodeCpuNs: number, containers: { pod: string; name: string; cpuNs?: number; mem?: number; start?: string }[] = []): KubeletSummary {
  const pods = new Map<string, KubeletSummary["pods"][number]>();
  for (const c of containers) {
    const pod = pods.get(c.pod) ?? { podRef: { name: c.pod, namespace: "default", uid: `uid-${c.pod}` }, containers: [] };
    pod.containers.push({ name: c.name, startTime: c.start ?? at(-100), cpu: c.cpuNs === undefined ? undefined : { time: at(s), usageCoreNanoSeconds: c.cpuNs }, memory: c.mem === undefined ? undefined : { time: at(s), workingSetBytes: c.mem } });
    pods.set(c.pod, pod);
  }
  return { node: { nodeName: "n1", cpu: { time: at(s), usageCoreNanoSeconds: nodeCpuNs }, memory: { time: at(s), workingSetBytes: 512 * 2 ** 20 } }, pods: [...pods.values()] };
}

describe("MetricsStore", () => {
  it("reports the rate of cumulative CPU between two samples, and the working set", () => {
    const store = new MetricsStore();
    store.record("n1", summary(0, 10e9), T0);
    expect(store.node("n1")).toBeUndefined(); // one sample is no rate yet
    store.record("n1", summary(15, 10e9 + 15e9 * 0.25), T0 + 15_000);
    expect(store.node("n1")).toEqual({ timestamp: T0 + 15_000, windowMs: 15_000, cpuNanoCores: 250_000_000, memoryBytes: 512 * 2 ** 20 });
  });

  it("reports a pod only when every container has both CPU and memory", () => {
    const store = new MetricsStore();
    const containers = (cpu: number) => [
      { pod: "web", name: "app", cpuNs: cpu, mem: 2e6 },
      { pod: "web", name: "sidecar", cpuNs: cpu / 2, mem: 1e6 },
      { pod: "half", name: "app", cpuNs: cpu, mem: undefined },
    ];
    store.record("n1", summary(0, 0, containers(1e9)), T0);
    store.record("n1", summary(10, 1e9, containers(2e9)), T0 + 10_000);
    expect(store.podIndex().get("default/web")).toEqual({
      namespace: "default",
      name: "web",
      timestamp: T0 + 10_000,
      windowMs: 10_000,
      containers: [
        { name: "app", cpuNanoCores: 100_000_000, memoryBytes: 2e6 },
        { name: "sidecar", cpuNanoCores: 50_000_000, memoryBytes: 1e6 },
      ],
    });
    expect(store.podIndex().get("default/half")).toBeUndefined();
    expect([...store.podIndex().keys()]).toEqual(["default/web"]);
  });

  it("starts a restarted container afresh instead of reporting a negative or huge rate", () => {
    const store = new MetricsStore();
    store.record("n1", summary(0, 0, [{ pod: "p", name: "c", cpuNs: 50e9, mem: 1 }]), T0);
    store.record("n1", summary(10, 1e9, [{ pod: "p", name: "c", cpuNs: 1e9, mem: 1, start: at(5) }]), T0 + 10_000);
    expect(store.podIndex().get("default/p")).toBeUndefined();
    store.record("n1", summary(20, 2e9, [{ pod: "p", name: "c", cpuNs: 2e9, mem: 1, start: at(5) }]), T0 + 20_000);
    expect(store.podIndex().get("default/p")?.containers[0]?.cpuNanoCores).toBe(100_000_000);
  });

  it("keeps the last rate when the kubelet hands back the same sample", () => {
    const store = new MetricsStore();
    store.record("n1", summary(0, 0), T0);
    store.record("n1", summary(10, 5e9), T0 + 10_000);
    store.record("n1", summary(10, 5e9), T0 + 12_000);
    expect(store.node("n1")?.cpuNanoCores).toBe(500_000_000);
  });

  it("forgets deleted nodes at once and silent ones after the cutoff", () => {
    const store = new MetricsStore();
    store.record("n1", summary(0, 0), T0);
    store.record("n2", summary(0, 0), T0 + 30_000);
    store.prune(T0 + 10_000);
    expect(store.nodeNames()).toEqual(["n2"]);
    store.forget("n2");
    expect(store.nodeNames()).toEqual([]);
  });
});
