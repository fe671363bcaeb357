/**
 * Joins per second against a real coordinator process: real TLS with CA pinning, real CSRs
 * (keys generated up front, as each node would), real validation, signing and durable writes.
 * All virtual nodes fire at once from this process; the coordinator's peak memory is read from
 * /proc. Node addresses are made-up facts (the coordinator checks them against reported NICs).
 *
 *   node --import tsx bench/join-load.ts [--n 200] [--streams] [--profile DIR]
 *
 * `--streams`: after its join, every virtual node also behaves like an agent for the rest of its
 * bring-up, with the agent's own code: it opens its mTLS event stream (EventStream), reports a
 * configuration pass (phases, 24 steps, converged) and refetches its manifest whenever the
 * coordinator announces a new revision (peers change as the others join). Reported: when the
 * last event was acknowledged, manifest refetches and bytes, and the coordinator's CPU time.
 *
 * `--profile DIR` runs the coordinator under `node --cpu-prof` and leaves its profile in DIR.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { API, JoinResponse, type JoinRequest } from "../shared/join.js";
import { requestJson } from "../shared/http-json.js";
import { intToIpv4 } from "../shared/net.js";
import { PROTOCOL_VERSION } from "../shared/versions.js";
import { generateNodeKey, buildNodeCsr } from "../agent/identity/node-csr.js";
import { pinnedAgent } from "../agent/coordinator-client/pinned-tls.js";
import { latencyStats, peakRssMiB } from "./stats.js";
import { EventStream } from "../agent/coordinator-client/event-stream.js";
import { NodeClient } from "../agent/coordinator-client/node-client.js";
import { mtlsAgent } from "../agent/coordinator-client/pinned-tls.js";
import { silentLogger } from "../shared/log.js";
import { readFile } from "node:fs/promises";

const EVENTS_PER_NODE = 2 + 24 * 2 + 2;

interface VirtualNode {
  stream: EventStream;
  fetches: number;
  fetchErrors: number;
  bytes: number;
  /** Resolves when no manifest fetch is in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** One node's agent after its join: the real EventStream and NodeClient, steps reported, not run. */
function startVirtualAgent(url: string, joined: JoinResponse, keyPem: string): VirtualNode {
  const tls = { caPem: joined.caBundle, certPem: joined.certificate, keyPem };
  const stream = new EventStream(url, tls, silentLogger);
  const client = new NodeClient(url, mtlsAgent(tls));
  let inFlight: Promise<void> = Promise.resolve();
  const v: VirtualNode = {
    stream,
    fetches: 0,
    fetchErrors: 0,
    bytes: 0,
    idle: () => inFlight,
    close: async () => {
      stream.close();
      await client.close();
    },
  };
  stream.onFrame((f) => {
    if (f.type !== "manifest") return;
    // A failed fetch is counted, never left as an unhandled rejection (which would end the
    // benchmark before it stops its coordinator).
    inFlight = inFlight
      .then(async () => {
        const m = await client.manifest();
        v.fetches++;
        v.bytes += JSON.stringify(m).length;
      })
      .catch(() => void v.fetchErrors++);
  });
  stream.start();
  const revision = joined.manifest.revision;
  stream.emit({ type: "phase", phase: "join", status: "finished", durationMs: 1 });
  stream.emit({ type: "phase", phase: `configure r${revision}`, status: "started" });
  for (let i = 0; i < 24; i++) {
    stream.emit({ type: "step.started", stepId: `bench/step-${i}` });
    stream.emit({ type: "step.finished", stepId: `bench/step-${i}`, outcome: "changed", durationMs: 5 });
  }
  stream.emit({ type: "phase", phase: `configure r${revision}`, status: "finished", durationMs: 200 });
  stream.emit({ type: "converged", revision, changed: 24, failed: 0 });
  return v;
}

/** The coordinator process's user + system CPU time so far, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return Math.round(((Number(fields[11]) + Number(fields[12])) / 100) * 10) / 10;
}

const { values } = parseArgs({ options: { n: { type: "string", default: "200" }, port: { type: "string", default: "17443" }, profile: { type: "string" }, streams: { type: "boolean", default: false } } });
const n = Number(values.n);
const progress = (m: string) => process.stderr.write(`join-load: ${m}\n`);

const dir = await mkdtemp(join(tmpdir(), "sprout-bench-join-"));
const cli = "dist/sprout.cjs";
await writeFile(
  join(dir, "cluster.yaml"),
  stringify({
    name: "bench",
    networks: { nodeCidr: "10.200.0.0/16", podCidr: "10.128.0.0/10", podCidrMaskSize: 24 },
    nodeGroups: [{ name: "master", roles: ["master"], count: 1 }, { name: "service", roles: ["service"], count: n }],
    coordinator: { listen: `127.0.0.1:${values.port}`, joinRateLimit: { perSecond: 1e6, burst: 1e6 } },
  }),
);
const run = (args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d) => (out += String(d)));
    c.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`sprout ${args.join(" ")} exited ${code}`))));
  });
await run(["init", dir]);
const profiling = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${values.profile}`] : [];
const coordinator = spawn(process.execPath, [...profiling, cli, "serve", dir], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SPROUT_LOG_LEVEL: "warn" } });
// Whatever ends this process, the coordinator goes with it.
process.once("exit", () => coordinator.kill("SIGKILL"));
try {
  await new Promise<void>((resolve, reject) => {
    let err = "";
    coordinator.stderr!.on("data", (d) => {
      err += String(d);
      if (err.includes("listening on")) resolve();
    });
    coordinator.once("exit", () => reject(new Error(`coordinator exited: ${err}`)));
  });
  const token = JSON.parse(await run(["token", "create", dir, "--roles", "service", "--uses", String(n), "-o", "json"])) as { token: string };
  const info = JSON.parse(await (await import("node:fs/promises")).readFile(join(dir, ".sprout/coordinator.json"), "utf8")) as { url: string; caPin: string };

  progress(`generating ${n} node keys and CSRs (as ${n} nodes would, in parallel)`);
  const keys: string[] = [];
  const requests: JoinRequest[] = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `node-${i}`;
      const ip = intToIpv4(0x0ac80000 + 10 + i); // 10.200.0.10 + i
      keys[i] = await generateNodeKey();
      const csr = buildNodeCsr(keys[i]!, name, [name], [ip]);
      return {
        protocolVersion: PROTOCOL_VERSION,
        token: token.token,
        nodeName: name,
        roles: ["service"],
        addresses: [ip],
        csr,
        facts: { hostname: name, machineId: String(i), cpus: 2, memoryBytes: 4e9, disks: [], nics: [{ name: "eth0", mac: "02:00:00:00:00:00", ipv4: [ip] }], os: "bench", kernel: "bench", imageVersion: "none", agentVersion: "bench", oomScoreAdjRestricted: false },
      } satisfies JoinRequest;
    }),
  );

  progress(`${n} joins at once against ${info.url}`);
  const dispatcher = pinnedAgent(info.caPin);
  const latencies: number[] = [];
  const virtualNodes: VirtualNode[] = [];
  const t0 = performance.now();
  const results = await Promise.allSettled(
    requests.map(async (req, i) => {
      const t = performance.now();
      const joined = await requestJson(new URL(API.join, info.url).href, JoinResponse, { dispatcher, method: "POST", body: req, timeoutMs: 120_000 });
      latencies.push(performance.now() - t);
      if (values.streams) virtualNodes.push(startVirtualAgent(info.url, joined, keys[i]!));
    }),
  );
  const wallMs = performance.now() - t0;
  await dispatcher.close();
  const failed = results.filter((r) => r.status === "rejected");
  let streams: Record<string, unknown> | undefined;
  if (values.streams) {
    progress(`waiting for ${virtualNodes.length} event streams to be acknowledged`);
    const drained = await Promise.all(virtualNodes.map((v) => v.stream.drain(300_000)));
    const allAckedMs = performance.now() - t0;
    // Let the last manifest notices (debounced after the last join) arrive and be fetched.
    await new Promise((r) => setTimeout(r, 3000));
    await Promise.all(virtualNodes.map((v) => v.idle()));
    streams = {
      drained: drained.filter(Boolean).length,
      allEventsAckedMs: Math.round(allAckedMs),
      eventsPerNode: EVENTS_PER_NODE,
      manifestRefetches: virtualNodes.reduce((t, v) => t + v.fetches, 0),
      manifestFetchErrors: virtualNodes.reduce((t, v) => t + v.fetchErrors, 0),
      manifestBytes: virtualNodes.reduce((t, v) => t + v.bytes, 0),
      coordinatorCpuSeconds: await cpuSeconds(coordinator.pid!),
    };
    for (const v of virtualNodes) await v.close();
  }
  const result = {
    bench: "join-load",
    nodes: n,
    ok: n - failed.length,
    failed: failed.length,
    firstError: failed[0] ? String((failed[0] as PromiseRejectedResult).reason) : undefined,
    wallMs: Math.round(wallMs),
    joinsPerSecond: Math.round(((n - failed.length) / wallMs) * 1000 * 10) / 10,
    latency: latencyStats(latencies),
    coordinatorPeakRssMiB: await peakRssMiB(coordinator.pid!),
    streams,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  coordinator.kill("SIGTERM");
  await new Promise((r) => coordinator.once("exit", r));
  await rm(dir, { recursive: true, force: true });
}
