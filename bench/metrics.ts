/**
 * metrics.k8s.io on a real cluster (local provider, warm image cache assumed): 1 master (edge)
 * and 2 service nodes from `sprout up`, then
 * - how long after `sprout up` returned the APIService is Available and every node has usage;
 * - `--pods N` sleeping pods (default 60): how long until all of them have usage;
 * - request latency through the API server's aggregator (undici, the admin kubeconfig's
 *   identity, one connection): NodeMetrics list, PodMetrics list of every pod, one PodMetrics;
 *   `--requests` each (default 200);
 * - an HPA (50 % of request, 1 to 3 replicas, no scale-down window) on a CPU burner: created →
 *   2 or more replicas, and work stopped → 1 replica;
 * - the metrics server's memory: resident set and its cgroup's memory.current, idle and loaded.
 * Prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { parse } from "yaml";
import { findMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { latencyStats } from "./stats.js";
import { cpuBurner, TOOLBOX_IMAGE } from "../test/support/workloads.js";
import { sh } from "./shell.js";

const { values } = parseArgs({ options: { pods: { type: "string", default: "60" }, requests: { type: "string", default: "200" } } });
const PODS = Number(values.pods);
const REQUESTS = Number(values.requests);
const CLI = join(import.meta.dirname, "..", "dist/sprout.cjs");
const METRICS = "/apis/metrics.k8s.io/v1beta1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const parent = mkdtempSync(join(tmpdir(), "sprout-bench-"));
const cluster = "bench-metrics";
const dir = join(parent, cluster);
const kubeconfig = join(parent, "kubeconfig");
const k = (...args: string[]) => sh("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=60s", ...args]);
const apply = (objects: object[]) => sh("kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

async function memory(): Promise<{ rssMiB: number; cgroupMiB: number }> {
  const stateDir = join(dir, ".sprout/machines", "master-1");
  const record = JSON.parse(readFileSync(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address">;
  const m = await findMachine({ cluster, node: "master-1", stateDir, ...record });
  if (!m) throw new Error("master-1 is not running");
  const pid = (await m.exec(["systemctl", "show", "-p", "MainPID", "--value", "sprout-metrics.service"])).stdout.trim();
  const rss = /VmRSS:\s+(\d+) kB/.exec((await m.exec(["cat", `/proc/${pid}/status`])).stdout)?.[1];
  const cg = (await m.exec(["systemctl", "show", "-p", "MemoryCurrent", "--value", "sprout-metrics.service"])).stdout.trim();
  return { rssMiB: +(Number(rss ?? 0) / 1024).toFixed(1), cgroupMiB: /^\d+$/.test(cg) ? +(Number(cg) / 2 ** 20).toFixed(1) : -1 };
}

/** The admin identity from the kubeconfig `sprout up` wrote, for requests without kubectl's start-up cost. */
function apiClient(): { server: string; agent: Agent } {
  const kc = parse(readFileSync(kubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64");
  const c = kc.clusters[0]!.cluster;
  const u = kc.users[0]!.user;
  return { server: c.server!, agent: new Agent({ connect: { ca: b64(c["certificate-authority-data"]), cert: b64(u["client-certificate-data"]), key: b64(u["client-key-data"]) }, connections: 1 }) };
}

async function timed(api: ReturnType<typeof apiClient>, path: string): Promise<{ ms: number; items: number }> {
  const t = performance.now();
  const res = await request(`${api.server}${path}`, { dispatcher: api.agent });
  const body = (await res.body.json()) as { items?: unknown[] };
  if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms: performance.now() - t, items: body.items?.length ?? 1 };
}


try {
  sh(process.execPath, [CLI, "init", dir]);
  writeFileSync(join(dir, "cluster.yaml"), readFileSync(join(dir, "cluster.yaml"), "utf8").replace("10.240.0.0/24", "10.241.31.0/24").replace("127.0.0.1:7443", "127.0.0.1:7531"));
  sh(process.execPath, [CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
  const upAt = Date.now();
  while (k("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}') !== "True") await sleep(250);
  const availableMs = Date.now() - upAt;
  const api = apiClient();
  while ((await timed(api, `${METRICS}/nodes`).catch(() => ({ items: 0 }))).items < 3) await sleep(250);
  const allNodesMs = Date.now() - upAt;
  const idle = await memory();

  const t0 = Date.now();
  apply([{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "sleepers" }, spec: { replicas: PODS, selector: { matchLabels: { app: "sleepers" } }, template: { metadata: { labels: { app: "sleepers" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] } } } }]);
  while (k("get", "deployment", "sleepers", "-o", "jsonpath={.status.readyReplicas}") !== String(PODS)) await sleep(1000);
  const readyMs = Date.now() - t0;
  while ((await timed(api, `${METRICS}/namespaces/default/pods?labelSelector=app%3Dsleepers`)).items < PODS) await sleep(500);
  const allPodsMs = Date.now() - t0;

  const one = k("get", "pods", "-l", "app=sleepers", "-o", "jsonpath={.items[0].metadata.name}");
  const latency: Record<string, ReturnType<typeof latencyStats> & { items: number }> = {};
  for (const [name, path] of [
    ["nodeMetricsList", `${METRICS}/nodes`],
    ["podMetricsListAll", `${METRICS}/pods`],
    ["podMetricsGet", `${METRICS}/namespaces/default/pods/${one}`],
  ] as const) {
    const samples: number[] = [];
    let items = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const r = await timed(api, path);
      samples.push(r.ms);
      items = r.items;
    }
    latency[name] = { ...latencyStats(samples, 2), items };
  }
  const loaded = await memory();

  // The HPA: burner created → 2 or more replicas; work stopped → back to 1.
  const h0 = Date.now();
  apply([
    cpuBurner("while :; do :; done"),
    { apiVersion: "autoscaling/v2beta2", kind: "HorizontalPodAutoscaler", metadata: { name: "burner" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "burner" }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }], behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
  ]);
  const replicas = () => Number(k("get", "hpa", "burner", "-o", "jsonpath={.status.currentReplicas}") || 0);
  while (replicas() < 2) await sleep(1000);
  const scaleUpMs = Date.now() - h0;
  const d0 = Date.now();
  apply([cpuBurner("sleep 100000")]);
  while (replicas() !== 1) await sleep(1000);
  const scaleDownMs = Date.now() - d0;
  await api.agent.close();

  process.stdout.write(
    `${JSON.stringify({
      bench: "metrics",
      cluster: "1 master+edge, 2 service nodes, Kubernetes 1.20.2, local provider; 15 s resolution",
      afterUp: { apiServiceAvailableMs: availableMs, everyNodeHasUsageMs: allNodesMs },
      pods: { count: PODS, readyMs, allHaveUsageMs: allPodsMs },
      latencyThroughAggregator: latency,
      hpa: { createdToTwoOrMoreMs: scaleUpMs, stoppedToOneMs: scaleDownMs },
      memory: { idle, loaded },
    })}\n`,
  );
} finally {
  spawnSync(process.execPath, [CLI, "down", dir], { stdio: "ignore" });
  rmSync(parent, { recursive: true, force: true });
}
