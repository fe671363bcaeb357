/**
 * Joins per second against a real coordinator process: real TLS with CA pinning, real CSRs
 * (keys generated up front, as each node would), real validation, signing and durable writes.
 * All virtual nodes fire at once from this process; the coordinator's peak memory is read from
 * /proc. Node addresses are made-up facts (the coordinator checks them against reported NICs).
 *
 *   node --import tsx bench/join-load.ts [--n 200] [--profile DIR]
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

const { values } = parseArgs({ options: { n: { type: "string", default: "200" }, port: { type: "string", default: "17443" }, profile: { type: "string" } } });
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
  const requests: JoinRequest[] = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `node-${i}`;
      const ip = intToIpv4(0x0ac80000 + 10 + i); // 10.200.0.10 + i
      const csr = buildNodeCsr(await generateNodeKey(), name, [name], [ip]);
      return {
        protocolVersion: PROTOCOL_VERSION,
        token: token.token,
        nodeName: name,
        roles: ["service"],
        addresses: [ip],
        csr,
        facts: { hostname: name, machineId: String(i), cpus: 2, memoryBytes: 4e9, disks: [], nics: [{ name: "eth0", mac: "02:00:00:00:00:00", ipv4: [ip] }], os: "bench", kernel: "bench", imageVersion: "none", agentVersion: "bench" },
      } satisfies JoinRequest;
    }),
  );

  progress(`${n} joins at once against ${info.url}`);
  const dispatcher = pinnedAgent(info.caPin);
  const latencies: number[] = [];
  const t0 = performance.now();
  const results = await Promise.allSettled(
    requests.map(async (req) => {
      const t = performance.now();
      await requestJson(new URL(API.join, info.url).href, JoinResponse, { dispatcher, method: "POST", body: req, timeoutMs: 120_000 });
      latencies.push(performance.now() - t);
    }),
  );
  const wallMs = performance.now() - t0;
  await dispatcher.close();
  const failed = results.filter((r) => r.status === "rejected");
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
  };
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  coordinator.kill("SIGTERM");
  await new Promise((r) => coordinator.once("exit", r));
  await rm(dir, { recursive: true, force: true });
}
