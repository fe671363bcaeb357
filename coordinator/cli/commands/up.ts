import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createLogger } from "../../../shared/log.js";
import { durationMs } from "../../../shared/cluster-spec.js";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import type { ClusterStatus } from "../../../shared/status.js";
import type { BootstrapInput } from "../../../shared/bootstrap.js";
import { clusterNameFor, deploymentPaths, initDeployment, readClusterSpec } from "../../deployment.js";
import { UserError } from "../../../shared/errors.js";
import { parseListen, startCoordinator } from "../../start.js";
import { createNodeNetwork, destroyNodeNetwork } from "../../providers/local/node-network.js";
import { planNodes, withWorkers, type PlannedNode } from "../../providers/local/node-plan.js";
import { writeSkeletonRoot } from "../../providers/local/skeleton-root.js";
import type { Coordinator } from "../../coordinator.js";
import { agentBundlePath } from "../agent-bundle.js";
import { color, formatMs, progress, printJson, type OutputFormat } from "../output.js";
import { renderStatus, totalMs } from "./status.js";
import { upMachines } from "./up-machines.js";
import { upSsh } from "./up-ssh.js";
import { upCloud } from "./up-cloud.js";

/**
 * `sprout up` — until node machines exist (local provider, next milestone) this is a dry run of
 * the real protocol: a real coordinator on the node network, one real agent process per planned
 * node in its own network namespace, joining with a token and configuring a skeleton node root
 * offline. What it prints is the real per-node timeline.
 */
export interface UpOptions {
  workers?: number;
  format: OutputFormat;
  keep: boolean;
  timeoutMs: number;
  /** Boot real node machines (the local provider); false: the `--dry-run` of the protocol. */
  machines: boolean;
  /** Where the admin kubeconfig goes: merged into kubectl's default file (undefined), a file, or nowhere (false). */
  kubeconfig?: string | false;
  /** `--provider`: must name the provider cluster.yaml configures (default: whatever it configures). */
  provider?: string;
}

export async function upCommand(dir: string, options: UpOptions): Promise<number> {
  if (options.machines) {
    const provider = (await readClusterSpec(deploymentPaths(dir)))?.provider.type ?? "local";
    const wanted = options.provider ?? provider;
    if (wanted !== provider) throw new UserError(`--provider ${wanted}, but ${join(resolve(dir), "cluster.yaml")} configures provider.type: ${provider}; set provider there (hosts and all) and run again`);
    if (wanted === "ssh") return upSsh(dir, options);
    if (wanted !== "local") return upCloud(dir, options);
    return upMachines(dir, options);
  }
  const { paths, spec: written } = await initDeployment(dir, clusterNameFor(dir));
  const spec = withWorkers(written, options.workers);
  const nodes = planNodes(spec);
  const rootOf = (n: PlannedNode) => join(paths.stateDir, "dry-run", n.name);
  const logOf = (n: PlannedNode) => join(paths.stateDir, "dry-run", `${n.name}.log`);
  progress(`sprout up ${spec.name}: ${nodes.length} node(s) — ${color.yellow("dry run")}: agents configure skeleton node roots under ${join(paths.stateDir, "dry-run")}, not machines`);

  await destroyNodeNetwork(spec.name); // leftovers of a crashed earlier run
  const network = await createNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));
  const log = createLogger({ component: "coordinator", level: "warn", base: { cluster: spec.name } });
  const agents: ChildProcess[] = [];
  let started: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  const issued: string[] = [];
  // Ctrl-C or SIGTERM runs the same cleanup as a normal end: no agent, namespace or lock survives.
  const interrupted = new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve(sig));
  });
  try {
    const { port } = parseListen(spec.coordinator.listen);
    started = await startCoordinator(spec, paths, { host: network.gateway, port, advertise: [network.gateway], log });
    const co = started.co;
    progress(`coordinator ${started.server.url} (CA pin ${co.pki.caPin.slice(0, 23)}…)`);

    const tokens = await issueTokens(co, nodes, spec.coordinator.tokenTtl, (n) => !existsSync(join(rootOf(n), NODE_PATHS.nodeCert)));
    issued.push(...new Set(tokens.values()));
    const bundle = agentBundlePath();
    const t0 = Date.now();
    for (const [i, node] of nodes.entries()) {
      await mkdir(rootOf(node), { recursive: true });
      // An existing root keeps its node identity, so a second `up` converges without a token.
      await writeSkeletonRoot(rootOf(node), nodeBootstrap(started.server.url, tokens, co.pki.caPin, node));
      agents.push(spawnAgent(network.nodes[i]!.netns, bundle, rootOf(node), logOf(node)));
    }
    const exits = agents.map((a) => new Promise<number>((resolve) => a.once("exit", (code) => resolve(code ?? 1))));
    const allExited = Promise.all(exits);
    const deadline = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), options.timeoutMs).unref());
    const ended = Promise.race([allExited.then(() => "done" as const), deadline, interrupted]);
    const final = await followProgress(() => co.clusterStatus(), ended, options.format);
    const how = await ended;
    if (how !== "done") {
      progress(color.red(how === "timeout" ? `timed out after ${formatMs(options.timeoutMs)}; stopping the agents still running` : `interrupted (${how}); cleaning up`));
      for (const a of agents) if (a.exitCode === null) a.kill("SIGTERM");
    }
    const codes = agents.map((a) => a.exitCode ?? -1);
    const failed = nodes.filter((_, i) => codes[i] !== 0);
    if (options.format === "json") printJson({ ...final, dryRun: true, wallMs: Date.now() - t0 });
    else {
      process.stdout.write(renderStatus(final));
      for (const n of failed) progress(color.red(`${n.name}: ${await failureReason(logOf(n), codes[nodes.indexOf(n)]!)} (log: ${logOf(n)})`));
      progress(`${nodes.length - failed.length} of ${nodes.length} agents converged in ${formatMs(Date.now() - t0)} (dry run: no machines were created; node configuration is under ${join(paths.stateDir, "dry-run")})`);
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill("SIGKILL");
    // Tokens minted for this run are not left valid in bootstrap files once it is over.
    if (started) for (const id of issued) await started.co.tokens.revoke(id.split(".")[0]!).catch(() => undefined);
    await started?.stop();
    if (!options.keep) await network.destroy();
  }
}

/** One token per group, bound to that group's nodes that still have to join. */
export async function issueTokens(co: Coordinator, nodes: PlannedNode[], ttl: string, needsJoin: (n: PlannedNode) => boolean): Promise<Map<string, string>> {
  const byNode = new Map<string, string>();
  const groups = new Map<string, PlannedNode[]>();
  for (const n of nodes.filter(needsJoin)) groups.set(n.group, [...(groups.get(n.group) ?? []), n]);
  for (const [group, members] of groups) {
    const { token } = await co.tokens.create({
      roles: members[0]!.roles,
      ttlSeconds: Math.round(durationMs(ttl) / 1000),
      maxUses: members.length,
      nodeNames: members.map((m) => m.name),
      description: `sprout up: group ${group}`,
    });
    for (const m of members) byNode.set(m.name, token);
  }
  return byNode;
}

/** Nodes that already joined need no token; the bootstrap schema still wants a well-formed one. */
export function placeholderToken(): string {
  return "joined.0000000000000000";
}

/** A planned node's bootstrap file: the coordinator to dial, its token (from issueTokens) or the placeholder, the CA pin. */
export function nodeBootstrap(coordinator: string, tokens: Map<string, string>, caPin: string, node: PlannedNode): BootstrapInput {
  return { coordinators: [coordinator], token: tokens.get(node.name) ?? placeholderToken(), caPin, nodeName: node.name, roles: node.roles };
}

/** The agent's own last words: its final stderr line ("sprout-agent: …") or last JSON log message. */
async function failureReason(logFile: string, code: number): Promise<string> {
  const lines = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
  const last = lines.at(-1) ?? "";
  if (last.startsWith("sprout-agent: ")) return last.slice("sprout-agent: ".length);
  try {
    const parsed = JSON.parse(last) as { msg?: string; reason?: string };
    if (parsed.msg) return `${parsed.msg}${parsed.reason ? `: ${parsed.reason}` : ""}`;
  } catch {
    // not JSON: fall through
  }
  return code === -1 ? "still running when stopped" : `agent exited with code ${code}`;
}

function spawnAgent(netns: string, bundle: string, root: string, logFile: string): ChildProcess {
  return spawn("sh", ["-c", `exec ip netns exec "$0" "$1" "$2" run --once --root "$3" --join-timeout 300 2>"$4"`, netns, process.execPath, bundle, root, logFile], { stdio: "ignore" });
}

/** Prints each node's phase changes as they happen (no redrawing: works the same when piped). */
export async function followProgress(fetch: () => Promise<ClusterStatus>, ended: Promise<unknown>, format: OutputFormat): Promise<ClusterStatus> {
  const seen = new Map<string, string>();
  let finished = false;
  void ended.then(() => (finished = true));
  for (;;) {
    const status = await fetch();
    if (format !== "json") {
      for (const n of status.nodes) {
        const key = `${n.phase}:${n.appliedRevision ?? ""}`;
        if (seen.get(n.name) !== key) {
          seen.set(n.name, key);
          const detail = n.phase === "converged" ? `revision ${n.appliedRevision} in ${formatMs(totalMs(n))}` : (n.error ?? "");
          progress(`  ${n.name.padEnd(16)} ${n.phase.padEnd(11)} ${detail}`);
        }
      }
    }
    if (finished) return fetch();
    await new Promise((r) => setTimeout(r, 250));
  }
}
