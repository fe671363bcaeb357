import { join } from "node:path";
import { stringify } from "yaml";
import { createLogger } from "../../../shared/log.js";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import type { ClusterStatus } from "../../../shared/status.js";
import { clusterNameFor, initDeployment, loadClusterSpec } from "../../deployment.js";
import { parseListen, startCoordinator } from "../../start.js";
import { ensureNodeNetwork } from "../../providers/local/node-network.js";
import { planNodes, withWorkers } from "../../providers/local/node-plan.js";
import { ensureNodeImage } from "../../providers/local/node-image.js";
import { listMachines, startMachine, type MachineSpec } from "../../providers/local/node-machine.js";
import { storageDisksFor } from "../../providers/local/machine-disks.js";
import { raiseHostLimits } from "../../providers/local/host-limits.js";
import { probeAgent, type AgentProbe } from "../../providers/local/agent-probe.js";
import { color, formatMs, progress, printJson } from "../output.js";
import { renderStatus } from "./status.js";
import { adminKubeconfig, defaultKubeconfigPath } from "./kubeconfig.js";
import { mergeKubeconfig } from "../kubeconfig-merge.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { followProgress, issueTokens, placeholderToken, type UpOptions } from "./up.js";

/**
 * `sprout up`: the local provider with real node machines. Each machine boots the
 * node image (systemd as PID 1); its image-baked `sprout-agent.service` finds the bootstrap file
 * the provider wrote — as cloud-init would — joins and configures the node. The coordinator runs
 * in this process until every node converged; the machines keep running afterwards
 * (`sprout down` removes them).
 */
export async function upMachines(dir: string, options: UpOptions): Promise<number> {
  const { paths } = await initDeployment(dir, clusterNameFor(dir));
  const base = withWorkers(await loadClusterSpec(paths), options.workers);
  const nodes = planNodes(base);
  progress(`sprout up ${base.name}: ${nodes.length} node machine(s)`);
  const image = await ensureNodeImage((line) => progress(color.dim(`  ${line}`)));
  progress(`node image ${image.version}`);
  // The coordinator refuses agents from any other image than the one these machines boot.
  const spec = { ...base, imageVersion: base.imageVersion ?? image.version };

  const running = new Set((await listMachines(spec.name)).map((m) => m.node));
  const network = await ensureNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));

  const log = createLogger({ component: "coordinator", level: "warn", base: { cluster: spec.name } });
  const { port } = parseListen(spec.coordinator.listen, "coordinator.listen");
  const started = await startCoordinator(spec, paths, { host: network.gateway, port, advertise: [network.gateway], log });
  const issued: string[] = [];
  try {
    const co = started.co;
    const tokens = await issueTokens(co, nodes, spec.coordinator.tokenTtl, (n) => !co.store.getNode(n.name));
    issued.push(...new Set(tokens.values()));
    const t0 = Date.now();
    const machineSpec = (i: number): MachineSpec => ({
      cluster: spec.name,
      node: nodes[i]!.name,
      imageRoot: image.root,
      stateDir: join(paths.stateDir, "machines", nodes[i]!.name),
      netns: network.nodes[i]!.netns,
      address: network.nodes[i]!.address,
      disks: nodes[i]!.roles.includes("storage") ? storageDisksFor(spec) : [],
    });
    await raiseHostLimits((line) => progress(color.dim(`  ${line}`)));
    await Promise.all(
      nodes.map(async (node, i) => {
        if (running.has(node.name)) return; // already up: its agent reconnects to this coordinator
        const bootstrap = stringify({ coordinators: [started.server.url], token: tokens.get(node.name) ?? placeholderToken(), caPin: co.pki.caPin, nodeName: node.name, roles: node.roles });
        await startMachine({ ...machineSpec(i), files: [{ path: NODE_PATHS.bootstrap, content: bootstrap, mode: 0o600 }] });
      }),
    );
    progress(`${nodes.length - running.size} machine(s) booted in ${formatMs(Date.now() - t0)}${running.size ? `, ${running.size} already running` : ""}; agents are configuring their nodes`);

    let done = false;
    const deadline = setTimeout(() => (done = true), options.timeoutMs);
    const probes = new Map<string, AgentProbe>();
    const ended = (async () => {
      let failingSince: number | undefined;
      let probedAt = 0;
      for (; !done; await new Promise((r) => setTimeout(r, 500))) {
        const status = await co.clusterStatus();
        // The coordinator knows nothing of nodes that never joined: ask their machines.
        const unjoined = nodes.filter((n) => !status.nodes.some((s) => s.name === n.name));
        if (unjoined.length > 0 && Date.now() - probedAt > PROBE_INTERVAL_MS) {
          probedAt = Date.now();
          probes.clear();
          for (const n of unjoined) probes.set(n.name, await probeAgent(machineSpec(nodes.indexOf(n))));
        }
        const state = settled(status, nodes.length, unjoined.map((n) => probes.get(n.name)));
        if (state === "converged") return;
        // Agents retry failed passes and joins; give up on them only once failure has held a while.
        failingSince = state === "failed" ? (failingSince ?? Date.now()) : undefined;
        if (failingSince !== undefined && Date.now() - failingSince > FAILURE_GRACE_MS) return;
      }
    })();
    const final = await followProgress(() => co.clusterStatus(), ended, options.format);
    clearTimeout(deadline);
    if (done) progress(color.red(`timed out after ${formatMs(options.timeoutMs)} with nodes still working; their agents go on (\`sprout status\` shows them while a coordinator runs)`));
    const unfinished = nodes.filter((n) => final.nodes.find((s) => s.name === n.name)?.phase !== "converged");
    if (options.kubeconfig !== false && final.nodes.some((n) => n.roles.includes("master") && n.phase === "converged")) {
      const { text, context } = await adminKubeconfig(dir);
      const target = options.kubeconfig ?? defaultKubeconfigPath();
      if (options.kubeconfig) await writeFileAtomic(target, text, 0o600);
      else await mergeKubeconfig(target, text);
      progress(`kubectl: context ${context} in ${target}`);
    }
    // Why each node that never joined did not: from inside its machine, at the end.
    const unjoined: { name: string; reason: string }[] = [];
    for (const n of unfinished) {
      if (final.nodes.some((s) => s.name === n.name)) continue;
      const probe = await probeAgent(machineSpec(nodes.indexOf(n)));
      unjoined.push({ name: n.name, reason: `never joined: ${probe.reason}` });
    }
    if (options.format === "json") printJson({ ...final, unjoined, wallMs: Date.now() - t0 });
    else {
      process.stdout.write(renderStatus(final));
      for (const n of unfinished) {
        const s = final.nodes.find((x) => x.name === n.name);
        const why = s ? `${s.phase}${s.error ? `: ${s.error}` : ""}` : unjoined.find((u) => u.name === n.name)!.reason;
        progress(color.red(`${n.name}: ${why}`));
      }
      progress(`${nodes.length - unfinished.length} of ${nodes.length} nodes converged in ${formatMs(Date.now() - t0)}; the machines keep running (\`sprout down ${dir}\` removes them)`);
    }
    return unfinished.length === 0 ? 0 : 1;
  } finally {
    for (const id of issued) await started.co.tokens.revoke(id.split(".")[0]!).catch(() => undefined);
    await started.stop();
  }
}

const FAILURE_GRACE_MS = 20_000;
const PROBE_INTERVAL_MS = 3_000;

/**
 * "converged": every planned node is done; "failed": every node is done or failed, counting
 * nodes that never joined as failed once their agent failed or cannot reach the coordinator;
 * undefined: still working.
 */
function settled(status: ClusterStatus, planned: number, unjoined: (AgentProbe | undefined)[]): "converged" | "failed" | undefined {
  const done = (n: ClusterStatus["nodes"][number]) => n.phase === "converged" && n.appliedRevision === n.revision;
  if (status.nodes.length === planned && status.nodes.every(done)) return "converged";
  if (!unjoined.every((p) => p !== undefined && p.state !== "working")) return undefined;
  return status.nodes.every((n) => done(n) || n.phase === "failed") ? "failed" : undefined;
}
