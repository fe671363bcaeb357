/**
 * Cluster DNS on a real cluster (local provider, warm image cache assumed): 1 master (edge) and
 * 2 service nodes from `sprout up`, then
 * - `--services N` ClusterIP Services (default 1,000) and a headless one with 20 pods, applied
 *   at once: how long until the last one resolves on a node (the records' end-to-end lag);
 * - the time from one more Service created to it resolving on a node, `--samples` times;
 * - queries per second and latency at the cluster DNS address, from a load generator on the
 *   node itself (Node.js UDP, 32 queries in flight, `--seconds` long): a mix of Service names,
 *   pod names (the Python module) and names that do not exist;
 * - memory each node gained: resident memory of unbound and of the cluster-dns feeder, and
 *   their cgroups' memory.current.
 * Prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { latencyStats } from "./stats.js";
import { TOOLBOX_IMAGE } from "../test/support/workloads.js";
import { sh } from "./shell.js";

const { values } = parseArgs({ options: { services: { type: "string", default: "1000" }, samples: { type: "string", default: "20" }, seconds: { type: "string", default: "10" } } });
const SERVICES = Number(values.services);
const SAMPLES = Number(values.samples);
const SECONDS = Number(values.seconds);
const CLI = join(import.meta.dirname, "..", "dist/sprout.cjs");
const DNS_IP = "10.96.0.10";


/** The load generator, run inside the node: Node.js's dgram, one socket, a window of queries in flight. */
const LOADGEN = `
const dgram = require("dgram");
const [server, seconds, window, namesJson] = process.argv.slice(1);
const names = JSON.parse(namesJson);
const enc = (id, name) => Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...name.split(".").filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
const s = dgram.createSocket("udp4");
const pending = new Map(); const lat = []; let next = 0, sent = 0, lost = 0, rcodes = {};
const end = Date.now() + Number(seconds) * 1000;
function send() {
  if (Date.now() > end) return;
  const id = next = (next + 1) & 0xffff; sent++;
  pending.set(id, process.hrtime.bigint());
  s.send(enc(id, names[sent % names.length]), 53, server);
}
s.on("message", (m) => { const id = m.readUInt16BE(0); const t = pending.get(id); if (t === undefined) return; pending.delete(id); lat.push(Number(process.hrtime.bigint() - t) / 1e6); const rc = m[3] & 15; rcodes[rc] = (rcodes[rc] || 0) + 1; send(); });
setInterval(() => { const now = process.hrtime.bigint(); for (const [id, t] of pending) if (now - t > 2000000000n) { pending.delete(id); lost++; send(); } }, 200).unref();
s.bind(() => { for (let i = 0; i < Number(window); i++) send(); });
setTimeout(() => {
  s.close();
  // Percentiles here: hundreds of thousands of samples do not fit through the exec pipe.
  lat.sort((a, b) => a - b);
  const at = (q) => lat[Math.max(0, Math.ceil(q * lat.length) - 1)];
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const out = { answered: lat.length, lost, rcodes, seconds: Number(seconds), latency: { samples: lat.length, meanMs: r3(lat.reduce((a, b) => a + b, 0) / lat.length), p50Ms: r3(at(0.5)), p99Ms: r3(at(0.99)), maxMs: r3(lat[lat.length - 1]) } };
  process.stdout.write(JSON.stringify(out) + String.fromCharCode(10), () => process.exit(0));
}, Number(seconds) * 1000 + 2500);
`;

const parent = mkdtempSync(join(tmpdir(), "sprout-bench-"));
const cluster = "bench-dns";
const dir = join(parent, cluster);
const kubeconfig = join(parent, "kubeconfig");
const k = (...args: string[]) => sh("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=60s", ...args]);
const machine = async (node: string) => {
  const stateDir = join(dir, ".sprout/machines", node);
  const record = JSON.parse(readFileSync(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address">;
  const m = await findMachine({ cluster, node, stateDir, ...record });
  if (!m) throw new Error(`${node} is not running`);
  return m;
};
async function resolve(node: string, name: string): Promise<string[]> {
  const m = await machine(node);
  const r = await m.exec(["node", "-e", `const r=new (require("dns").promises.Resolver)({timeout:1000,tries:1});r.setServers(["${DNS_IP}"]);r.resolve4("${name}").then(a=>console.log(a.join(" ")),()=>console.log(""))`]);
  return r.stdout.trim().split(" ").filter(Boolean);
}
async function memory(node: string): Promise<Record<string, { rssMiB: number; cgroupMiB: number }>> {
  const m = await machine(node);
  const out: Record<string, { rssMiB: number; cgroupMiB: number }> = {};
  for (const unit of ["sprout-dns.service", "sprout-cluster-dns.service"]) {
    const pid = (await m.exec(["systemctl", "show", "-p", "MainPID", "--value", unit])).stdout.trim();
    const rss = /VmRSS:\s+(\d+) kB/.exec((await m.exec(["cat", `/proc/${pid}/status`])).stdout)?.[1];
    const cg = (await m.exec(["systemctl", "show", "-p", "MemoryCurrent", "--value", unit])).stdout.trim();
    out[unit] = { rssMiB: +(Number(rss ?? 0) / 1024).toFixed(1), cgroupMiB: /^\d+$/.test(cg) ? +(Number(cg) / 2 ** 20).toFixed(1) : -1 };
  }
  return out;
}
const services = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ apiVersion: "v1", kind: "Service", metadata: { name: `svc-${from + i}`, namespace: "default" }, spec: { selector: { app: "none" }, ports: [{ name: "http", port: 80 }] } }));

try {
  sh(process.execPath, [CLI, "init", dir]);
  writeFileSync(join(dir, "cluster.yaml"), readFileSync(join(dir, "cluster.yaml"), "utf8").replace("10.240.0.0/24", "10.241.30.0/24").replace("127.0.0.1:7443", "127.0.0.1:7530"));
  sh(process.execPath, [CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
  const idle = { "master-1": await memory("master-1"), "service-1": await memory("service-1") };

  // Many Services at once, plus a headless one with 20 pods behind it.
  const bulk = [
    ...services(0, SERVICES),
    { apiVersion: "v1", kind: "Service", metadata: { name: "pods", namespace: "default" }, spec: { clusterIP: "None", selector: { app: "pods" }, ports: [{ name: "http", port: 80 }] } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "pods" }, spec: { replicas: 20, selector: { matchLabels: { app: "pods" } }, template: { metadata: { labels: { app: "pods" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] } } } },
  ];
  const t0 = Date.now();
  sh("kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: bulk }));
  const appliedMs = Date.now() - t0;
  while ((await resolve("service-1", `svc-${SERVICES - 1}.default.svc.cluster.local`)).length === 0) await new Promise((r) => setTimeout(r, 100));
  const bulkResolvedMs = Date.now() - t0;

  // One Service at a time: created → resolving on a node.
  const lag: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = Date.now();
    sh("kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "-"], JSON.stringify(services(SERVICES + i, 1)[0]));
    while ((await resolve("service-1", `svc-${SERVICES + i}.default.svc.cluster.local`)).length === 0) await new Promise((r) => setTimeout(r, 20));
    lag.push(Date.now() - start);
  }

  // Load: Service names, pod names (synthesized), and misses.
  for (;;) {
    const ready = k("get", "deployment", "pods", "-o", "jsonpath={.status.readyReplicas}");
    if (ready === "20") break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const podIps = k("get", "pods", "-l", "app=pods", "-o", "jsonpath={.items[*].status.podIP}").trim().split(" ");
  const names = [
    ...Array.from({ length: 50 }, (_, i) => `svc-${(i * 37) % SERVICES}.default.svc.cluster.local`),
    "pods.default.svc.cluster.local",
    ...podIps.slice(0, 10).map((ip) => `${ip.replaceAll(".", "-")}.default.pod.cluster.local`),
    ...Array.from({ length: 10 }, (_, i) => `missing-${i}.default.svc.cluster.local`),
  ];
  const m = await machine("service-1");
  const r = await m.exec(["node", "-e", LOADGEN, DNS_IP, String(SECONDS), "32", JSON.stringify(names)], { timeoutMs: (SECONDS + 30) * 1000 });
  const load = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { answered: number; lost: number; rcodes: Record<string, number>; seconds: number; latency: object };
  const loaded = { "master-1": await memory("master-1"), "service-1": await memory("service-1") };
  const records = Number((await m.exec(["grep", "-c", "local-data", "/var/lib/unbound/sprout/records.conf"])).stdout.trim());

  process.stdout.write(
    `${JSON.stringify({
      bench: "cluster-dns",
      cluster: "1 master+edge, 2 service nodes, Kubernetes 1.20.2, local provider",
      services: SERVICES + SAMPLES + 1,
      records,
      bulk: { services: SERVICES, applyMs: appliedMs, lastResolvedMs: bulkResolvedMs },
      newServiceResolvesMs: latencyStats(lag, 0),
      queries: { window: 32, seconds: load.seconds, qps: Math.round(load.answered / load.seconds), lost: load.lost, rcodes: load.rcodes, latency: load.latency },
      memory: { idle, loaded },
    })}\n`,
  );
} finally {
  spawnSync(process.execPath, [CLI, "down", dir], { stdio: "ignore" });
  rmSync(parent, { recursive: true, force: true });
}
