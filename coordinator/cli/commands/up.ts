import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../../../shared/log.js";
import { durationMs } from "../../../shared/cluster-spec.js";
import type { ClusterStatus } from "../../../shared/status.js";
import { deploymentPaths, initDeployment, loadClusterSpec } from "../../deployment.js";
import { parseListen, startCoordinator } from "../../start.js";
import { createNodeNetwork, destroyNodeNetwork } from "../../providers/local/node-network.js";
import { planNodes, withWorkers } from "../../providers/local/node-plan.js";
import { writeSkeletonRoot } from "../../providers/local/skeleton-root.js";
import { agentBundlePath } from "../agent-bundle.js";
import { color, formatMs, progress, printJson, type OutputFormat } from "../output.js";
import { renderStatus, totalMs } from "./status.js";

/**
 * `sprout up` — until node machines exist (local provider, next milestone) this is a dry run of
 * the real protocol: a real coordinator on the node network, one real agent process per planned
 * node in its own network namespace, joining with a token and configuring a skeleton node root
 * offline. What it prints is the real per-node timeline.
 */
export async function upCommand(dir: string, options: { workers?: number; format: OutputFormat; keep: boolean }): Promise<number> {
  const { paths } = await initDeployment(dir, "sprout");
  const spec = withWorkers(await loadClusterSpec(paths), options.workers);
  const nodes = planNodes(spec);
  progress(`sprout up ${spec.name}: ${nodes.length} node(s) — ${color.yellow("dry run")}: agents configure skeleton node roots under ${join(paths.stateDir, "dry-run")}, not machines`);

  await destroyNodeNetwork(spec.name); // leftovers of a crashed earlier run
  const network = await createNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));
  const log = createLogger({ component: "coordinator", level: "warn", base: { cluster: spec.name } });
  const agents: ChildProcess[] = [];
  let started: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  try {
    const { port } = parseListen(spec.coordinator.listen);
    started = await startCoordinator(spec, paths, { host: network.gateway, port, advertise: [network.gateway], log });
    const co = started.co;
    progress(`coordinator ${started.server.url} (CA pin ${co.pki.caPin.slice(0, 23)}…)`);

    const ttlSeconds = Math.round(durationMs(spec.coordinator.tokenTtl) / 1000);
    const tokens = new Map<string, string>();
    for (const g of spec.nodeGroups.filter((g) => g.count > 0)) {
      const { token } = await co.tokens.create({ roles: g.roles, ttlSeconds, maxUses: g.count, description: `sprout up: group ${g.name}` });
      tokens.set(g.name, token);
    }
    const bundle = agentBundlePath();
    const t0 = Date.now();
    for (const [i, node] of nodes.entries()) {
      // An existing root keeps its node identity, so a second `up` converges instead of re-joining.
      const root = join(paths.stateDir, "dry-run", node.name);
      await mkdir(root, { recursive: true });
      await writeSkeletonRoot(root, { coordinators: [started.server.url], token: tokens.get(node.group)!, caPin: co.pki.caPin, nodeName: node.name, roles: node.roles });
      const logFile = join(paths.stateDir, "dry-run", `${node.name}.log`);
      agents.push(spawnAgent(network.nodes[i]!.netns, bundle, root, logFile));
    }
    const exits = agents.map((a) => new Promise<number>((resolve) => a.once("exit", (code) => resolve(code ?? 1))));
    const final = await followProgress(() => co.clusterStatus(), Promise.all(exits), options.format);
    const codes = await Promise.all(exits);
    const failed = nodes.filter((_, i) => codes[i] !== 0);
    if (options.format === "json") printJson({ ...final, dryRun: true, wallMs: Date.now() - t0 });
    else {
      process.stdout.write(renderStatus(final));
      for (const n of failed) progress(color.red(`${n.name}: agent exited with code ${codes[nodes.indexOf(n)]}; see ${join(paths.stateDir, "dry-run", `${n.name}.log`)}`));
      progress(`all ${nodes.length} agents finished in ${formatMs(Date.now() - t0)} (dry run: no machines were created; node configuration is under ${join(paths.stateDir, "dry-run")})`);
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    for (const a of agents) if (a.exitCode === null) a.kill("SIGTERM");
    await started?.stop();
    if (!options.keep) await network.destroy();
  }
}

function spawnAgent(netns: string, bundle: string, root: string, logFile: string): ChildProcess {
  const child = spawn("sh", ["-c", `exec ip netns exec "$0" "$1" "$2" run --once --root "$3" --join-timeout 300 2>"$4"`, netns, process.execPath, bundle, root, logFile], { stdio: "ignore" });
  return child;
}

/** Prints each node's phase changes as they happen (no redrawing: works the same when piped). */
async function followProgress(fetch: () => Promise<ClusterStatus>, done: Promise<unknown>, format: OutputFormat): Promise<ClusterStatus> {
  const seen = new Map<string, string>();
  let finished = false;
  void done.then(() => (finished = true));
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
