import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PlannedNode } from "../../../shared/cluster-spec.js";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import { color, progress } from "../../output.js";
import { parseListen } from "../../server/listen-address.js";
import type { AgentProbe, Provider, ProviderPlan, UpContext } from "../../up/provider.js";
import { serveHere } from "../../up/serve-here.js";
import { createNodeNetwork, destroyNodeNetwork } from "../local/node-network.js";
import { planNodes, withWorkers } from "../local/node-plan.js";
import { agentBundlePath } from "./agent-bundle.js";
import { writeSkeletonRoot } from "./skeleton-root.js";

/**
 * `sprout up --dry-run`: the join protocol only. A real coordinator on a node network, one real
 * agent process per planned node in its own network namespace, joining with a token and
 * configuring a skeleton node root offline. No machine is created.
 */
export const dryRunProvider: Provider = {
  async prepare({ paths, spec: written, options }: UpContext): Promise<ProviderPlan> {
    const spec = withWorkers(written, options.workers);
    const nodes = planNodes(spec);
    const base = join(paths.stateDir, "dry-run");
    const rootOf = (n: PlannedNode) => join(base, n.name);
    const logOf = (n: PlannedNode) => join(base, `${n.name}.log`);
    progress(`sprout up ${spec.name}: ${nodes.length} node(s) — ${color.yellow("dry run")}: agents configure skeleton node roots under ${base}, not machines`);
    const { port } = parseListen(spec.coordinator.listen, "coordinator.listen");
    await destroyNodeNetwork(spec.name); // leftovers of a crashed earlier run
    const network = await createNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));
    const agents = new Map<string, ChildProcess>();
    return {
      spec,
      nodes,
      openCoordinator: () => serveHere(spec, paths, { host: network.gateway, port, advertise: [network.gateway] }),
      // An existing root keeps its node identity, so a second `up` converges without a token.
      needsJoin: (n) => !existsSync(join(rootOf(n), NODE_PATHS.nodeCert)),
      async launch({ co, bootstrap }) {
        const bundle = agentBundlePath();
        const t0 = Date.now();
        for (const [i, node] of nodes.entries()) {
          await mkdir(rootOf(node), { recursive: true });
          await writeSkeletonRoot(rootOf(node), bootstrap(node));
          agents.set(node.name, spawnAgent(network.nodes[i]!.netns, bundle, rootOf(node), logOf(node)));
        }
        const exited = (a: ChildProcess) => a.exitCode !== null || a.signalCode !== null;
        return {
          t0,
          status: () => co.clusterStatus(),
          probe: async (n) => probeAgentProcess(agents.get(n.name)!, logOf(n)),
          agentsGone: () => [...agents.values()].every(exited),
          endNote: `dry run: no machines were created; node configuration is under ${base}`,
          skipKubeconfig: true,
          jsonExtra: { dryRun: true },
          close: async () => {
            for (const a of agents.values()) if (!exited(a)) a.kill("SIGKILL");
          },
        };
      },
      close: async () => {
        if (!options.keep) await network.destroy();
      },
    };
  },
};

function spawnAgent(netns: string, bundle: string, root: string, logFile: string): ChildProcess {
  const script = `exec ip netns exec "$0" "$1" "$2" run --once --root "$3" --join-timeout 300 2>"$4"`;
  return spawn("sh", ["-c", script, netns, process.execPath, bundle, root, logFile], { stdio: "ignore" });
}

/** An agent process that has not joined: still at it, or gone with its last words in its log. */
async function probeAgentProcess(agent: ChildProcess, logFile: string): Promise<AgentProbe> {
  if (agent.exitCode === null && agent.signalCode === null) return { state: "working", reason: "the agent is still joining" };
  return { state: "failed", reason: `${await lastWords(logFile, agent.exitCode ?? -1)} (log: ${logFile})` };
}

/** The agent's own last words: its final stderr line ("sprout-agent: …") or last JSON log message. */
async function lastWords(logFile: string, code: number): Promise<string> {
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
