import { join } from "node:path";
import { stringify } from "yaml";
import { createLogger } from "../../../shared/log.js";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import { clusterNameFor, initDeployment } from "../../deployment.js";
import { parseListen, startCoordinator } from "../../start.js";
import { ensureNodeNetwork } from "../../providers/local/node-network.js";
import { planNodes, withWorkers } from "../../providers/local/node-plan.js";
import { ensureNodeImage } from "../../providers/local/node-image.js";
import { listMachines, startMachine, type MachineSpec } from "../../providers/local/node-machine.js";
import { storageDisksFor } from "../../providers/local/machine-disks.js";
import { raiseHostLimits } from "../../providers/local/host-limits.js";
import { probeAgent } from "../../providers/local/agent-probe.js";
import { color, formatMs, progress } from "../output.js";
import { issueTokens, nodeBootstrap, type UpOptions } from "./up.js";
import { followToEnd } from "./up-follow.js";

/**
 * `sprout up`: the local provider with real node machines. Each machine boots the
 * node image (systemd as PID 1); its image-baked `sprout-agent.service` finds the bootstrap file
 * the provider wrote — as cloud-init would — joins and configures the node. The coordinator runs
 * in this process until every node converged; the machines keep running afterwards
 * (`sprout down` removes them).
 */
export async function upMachines(dir: string, options: UpOptions): Promise<number> {
  const { paths, spec: written } = await initDeployment(dir, clusterNameFor(dir));
  const base = withWorkers(written, options.workers);
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
        const bootstrap = stringify(nodeBootstrap(started.server.url, tokens, co.pki.caPin, node));
        await startMachine({ ...machineSpec(i), files: [{ path: NODE_PATHS.bootstrap, content: bootstrap, mode: 0o600 }] });
      }),
    );
    progress(`${nodes.length - running.size} machine(s) booted in ${formatMs(Date.now() - t0)}${running.size ? `, ${running.size} already running` : ""}; agents are configuring their nodes`);

    return await followToEnd({
      status: () => co.clusterStatus(),
      dir,
      nodes,
      options,
      t0,
      probe: (n) => probeAgent(machineSpec(nodes.indexOf(n))),
      endNote: `the machines keep running (\`sprout down ${dir}\` removes them)`,
    });
  } finally {
    for (const id of issued) await started.co.tokens.revoke(id.split(".")[0]!).catch(() => undefined);
    await started.stop();
  }
}
