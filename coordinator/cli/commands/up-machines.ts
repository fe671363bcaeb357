import { join } from "node:path";
import { stringify } from "yaml";
import { createLogger } from "../../../shared/log.js";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import type { ClusterStatus } from "../../../shared/status.js";
import { clusterNameFor, initDeployment, loadClusterSpec } from "../../deployment.js";
import { parseListen, startCoordinator } from "../../start.js";
import { createNodeNetwork, hubNamespace, nodeNamespace } from "../../providers/local/node-network.js";
import { planNodes, withWorkers } from "../../providers/local/node-plan.js";
import { ensureNodeImage } from "../../providers/local/node-image.js";
import { findMachine, listMachines, startMachine, type MachineSpec } from "../../providers/local/node-machine.js";
import { nthAddress, parseCidr } from "../../../shared/net.js";
import { color, formatMs, progress, printJson } from "../output.js";
import { renderStatus } from "./status.js";
import { adminKubeconfig, defaultKubeconfigPath } from "./kubeconfig.js";
import { mergeKubeconfig } from "../kubeconfig-merge.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { followProgress, issueTokens, placeholderToken, type UpOptions } from "./up.js";
import { existsSync } from "node:fs";

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
  const net = parseCidr(spec.networks.nodeCidr)!;
  const network = existsSync(`/run/netns/${hubNamespace(spec.name)}`)
    ? { gateway: nthAddress(net, 1), nodes: nodes.map((n, i) => ({ name: n.name, netns: nodeNamespace(spec.name, n.name), address: nthAddress(net, 10 + i) })) }
    : await createNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));

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
    });
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
    const ended = (async () => {
      let failingSince: number | undefined;
      for (; !done; await new Promise((r) => setTimeout(r, 500))) {
        const state = settled(await co.clusterStatus(), nodes.length);
        if (state === "converged") return;
        // Agents retry failed passes; give up on them only once failure has held for a while.
        failingSince = state === "failed" ? (failingSince ?? Date.now()) : undefined;
        if (failingSince !== undefined && Date.now() - failingSince > FAILURE_GRACE_MS) return;
      }
    })();
    const final = await followProgress(() => co.clusterStatus(), ended, options.format);
    clearTimeout(deadline);
    const unfinished = nodes.filter((n) => final.nodes.find((s) => s.name === n.name)?.phase !== "converged");
    if (options.kubeconfig !== false && final.nodes.some((n) => n.roles.includes("master") && n.phase === "converged")) {
      const { text, context } = await adminKubeconfig(dir);
      const target = options.kubeconfig ?? defaultKubeconfigPath();
      if (options.kubeconfig) await writeFileAtomic(target, text, 0o600);
      else await mergeKubeconfig(target, text);
      progress(`kubectl: context ${context} in ${target}`);
    }
    if (options.format === "json") printJson({ ...final, wallMs: Date.now() - t0 });
    else {
      process.stdout.write(renderStatus(final));
      for (const n of unfinished) {
        const s = final.nodes.find((x) => x.name === n.name);
        const why = s ? `${s.phase}${s.error ? `: ${s.error}` : ""}` : `never joined: ${await agentLastWords(machineSpec(nodes.indexOf(n)))}`;
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

/** "converged": every planned node is done; "failed": the rest failed; undefined: still working. */
function settled(status: ClusterStatus, planned: number): "converged" | "failed" | undefined {
  if (status.nodes.length < planned) return undefined;
  const done = (n: ClusterStatus["nodes"][number]) => n.phase === "converged" && n.appliedRevision === n.revision;
  if (status.nodes.every(done)) return "converged";
  return status.nodes.every((n) => done(n) || n.phase === "failed") ? "failed" : undefined;
}

/** What the node's agent unit last said, from inside the machine (for nodes that never joined). */
async function agentLastWords(spec: MachineSpec): Promise<string> {
  const machine = await findMachine(spec);
  if (!machine) return "the machine is not running";
  const state = await machine.exec(["systemctl", "show", "-p", "ActiveState,ConditionResult,LoadState", "sprout-agent.service"]);
  const props = Object.fromEntries(state.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  const [active, condition, load] = [props.ActiveState, props.ConditionResult, props.LoadState];
  if (load === "not-found") return "the node image has no sprout-agent.service";
  if (condition === "no") return "sprout-agent.service did not start: its condition failed (no bootstrap file?)";
  const journal = await machine.exec(["journalctl", "-u", "sprout-agent.service", "-n", "2", "-o", "cat", "--no-pager"]);
  return `sprout-agent is ${active}${journal.stdout.trim() ? `; last: ${journal.stdout.trim().split("\n").pop()!.slice(0, 300)}` : ""}`;
}
