import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { ClusterStatus, TokenView } from "../../shared/status.js";
import type { NodeRole } from "../../shared/roles.js";
import type { BootstrapInput } from "../../shared/bootstrap.js";
import { nthAddress, parseCidr } from "../../shared/net.js";
import { createNodeNetwork, destroyNodeNetwork, type NodeNetwork } from "../../coordinator/providers/local/node-network.js";
import { ensureNodeImage, type NodeImage } from "../../coordinator/providers/local/node-image.js";
import { writeSkeletonRoot } from "../../coordinator/providers/dry-run/skeleton-root.js";

/**
 * A real cluster for integration tests: a deployment directory, the node network (one network
 * namespace per node), the coordinator as its own process (`dist/sprout.cjs serve`) and agents
 * as separate processes (`dist/sprout-agent.cjs`) inside their namespaces, each configuring its
 * own node root. Everything it creates is removed by `destroy()`, even after a failure.
 */
const REPO = resolve(import.meta.dirname, "../..");
export const SPROUT_CLI = join(REPO, "dist/sprout.cjs");
export const AGENT_BUNDLE = join(REPO, "dist/sprout-agent.cjs");

/**
 * A /24 for a test cluster's node network, its third octet derived from the cluster's name, so
 * suites (and an interrupted earlier run still being swept) do not collide. `base` is `10.X`.
 */
export function testNodeCidr(cluster: string, base: string): string {
  const octet = (parseInt(createHash("sha256").update(cluster).digest("hex").slice(0, 4), 16) % 200) + 20;
  return `${base}.${octet}.0/24`;
}

/** The node image, built or reused by image-build/build-rootfs.sh (progress on stderr). */
export const testNodeImage = (flavor: "sprout" | "vanilla" = "sprout"): Promise<NodeImage> =>
  ensureNodeImage((line) => process.stderr.write(`${line}\n`), join(REPO, "image-build/build-rootfs.sh"), flavor);

export interface TestNode {
  name: string;
  roles: NodeRole[];
  group: string;
}

export interface AgentRun {
  node: TestNode;
  child: ChildProcess;
  exited: Promise<{ code: number; stderr: string }>;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestCluster {
  readonly agents: AgentRun[] = [];
  private coordinator: ChildProcess | undefined;
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly nodes: TestNode[],
    readonly network: NodeNetwork,
    readonly port: number,
    readonly nodeCidr: string,
  ) {}

  /** An address inside the node network that no node has: what a forged join might claim. */
  unusedAddress(offset = 0): string {
    return nthAddress(parseCidr(this.nodeCidr)!, 500 + offset);
  }

  /** `groups`: name → roles and count; the cluster gets a fresh name so namespaces never clash. */
  static async create(groups: { name: string; roles: NodeRole[]; count: number }[], extraSpec: Record<string, unknown> = {}): Promise<TestCluster> {
    const name = `it${randomBytes(3).toString("hex")}`;
    const dir = await mkdtemp(join(tmpdir(), `sprout-${name}-`));
    const nodes = groups.flatMap((g) => Array.from({ length: g.count }, (_, i) => ({ name: `${g.name}-${i + 1}`, roles: g.roles, group: g.name })));
    // A /22 leaves room for a few hundred nodes; distinct third octets keep parallel runs apart.
    const octet = 100 + (parseInt(createHash("sha256").update(name).digest("hex").slice(0, 4), 16) % 100) * 4;
    const nodeCidr = `10.${200 + (octet >> 8)}.${octet % 256}.0/22`;
    const network = await createNodeNetwork(name, nodeCidr, nodes.map((n) => n.name));
    try {
      const port = await freePort(network.gateway);
      await mkdir(dir, { recursive: true });
      const spec = {
        name,
        networks: { nodeCidr },
        nodeGroups: groups,
        coordinator: { listen: `${network.gateway}:${port}`, joinRateLimit: { perSecond: 100, burst: 100 } },
        ...extraSpec,
      };
      const { writeFile } = await import("node:fs/promises");
      await writeFile(join(dir, "cluster.yaml"), stringify(spec));
      const cluster = new TestCluster(name, dir, nodes, network, port, nodeCidr);
      const init = await cluster.cli(["init", dir]);
      if (init.code !== 0) throw new Error(`sprout init failed: ${init.stderr}`);
      return cluster;
    } catch (err) {
      await network.destroy();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get url(): string {
    return `https://${this.network.gateway}:${this.port}`;
  }

  get stateDir(): string {
    return join(this.dir, ".sprout");
  }

  async caPin(): Promise<string> {
    const info = JSON.parse(await readFile(join(this.stateDir, "coordinator.json"), "utf8")) as { caPin: string };
    return info.caPin;
  }

  async caCert(): Promise<string> {
    return readFile(join(this.stateDir, "pki/ca.crt"), "utf8");
  }

  /** Starts `sprout serve` and waits until it answers. */
  async startCoordinator(): Promise<void> {
    const child = spawn(process.execPath, [SPROUT_CLI, "serve", this.dir], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SPROUT_LOG_LEVEL: "warn" } });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    this.coordinator = child;
    const deadline = Date.now() + 30_000;
    while (!stderr.includes("listening on")) {
      if (child.exitCode !== null) throw new Error(`coordinator exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`coordinator did not start: ${stderr}`);
      await sleep(50);
    }
  }

  /** SIGKILL by default: the restart test wants a crash, not a clean shutdown. */
  async stopCoordinator(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.coordinator;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await exited;
    this.coordinator = undefined;
  }

  cli(args: string[]): Promise<CommandResult> {
    return run(process.execPath, [SPROUT_CLI, ...args]);
  }

  async createToken(roles: NodeRole[], uses: number, ttl = "1h"): Promise<string> {
    const r = await this.cli(["token", "create", this.dir, "--roles", roles.join(","), "--uses", String(uses), "--ttl", ttl, "-o", "json"]);
    if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { token: string }).token;
  }

  async tokens(): Promise<TokenView[]> {
    const r = await this.cli(["token", "list", this.dir, "-o", "json"]);
    if (r.code !== 0) throw new Error(`token list failed: ${r.stderr}`);
    return TokenView.array().parse(JSON.parse(r.stdout));
  }

  async status(): Promise<ClusterStatus> {
    const r = await this.cli(["status", this.dir, "-o", "json"]);
    if (r.stdout === "") throw new Error(`status failed: ${r.stderr}`);
    return ClusterStatus.parse(JSON.parse(r.stdout));
  }

  nodeRoot(node: string): string {
    return join(this.dir, "roots", node);
  }

  /** Writes the node's skeleton root with a bootstrap file, as the provider would. */
  async prepareNode(node: TestNode, bootstrap: Partial<BootstrapInput> & { token: string }): Promise<string> {
    const root = this.nodeRoot(node.name);
    await rm(root, { recursive: true, force: true });
    await writeSkeletonRoot(root, { coordinators: [this.url], caPin: await this.caPin(), nodeName: node.name, roles: node.roles, ...bootstrap });
    return root;
  }

  /** Starts the agent for `node` in its network namespace, as a separate process. */
  startAgent(node: TestNode, args: string[] = ["--once", "--join-timeout", "120"]): AgentRun {
    const netns = this.network.nodes.find((n) => n.name === node.name)!.netns;
    const child = spawn("ip", ["netns", "exec", netns, process.execPath, AGENT_BUNDLE, "run", "--root", this.nodeRoot(node.name), ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    const exited = new Promise<{ code: number; stderr: string }>((resolve) => child.once("exit", (code) => resolve({ code: code ?? 1, stderr })));
    const agent = { node, child, exited };
    this.agents.push(agent);
    return agent;
  }

  /** The files that make up durable state (records, logs, PKI), with their content hashes. */
  async stateSnapshot(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const sub of ["tokens", "nodes", "events", "pki"]) {
      const dir = join(this.stateDir, sub);
      for (const f of await readdir(dir, { recursive: true })) {
        const p = join(dir, f);
        if ((await stat(p)).isFile()) out[`${sub}/${f}`] = createHash("sha256").update(await readFile(p)).digest("hex");
      }
    }
    return out;
  }

  async destroy(): Promise<void> {
    for (const a of this.agents) if (a.child.exitCode === null) a.child.kill("SIGKILL");
    await this.stopCoordinator("SIGTERM").catch(() => undefined);
    await this.network.destroy();
    await destroyNodeNetwork(this.name);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: o.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.once("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Polls `check` until it is true; fails naming what it waited for after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
