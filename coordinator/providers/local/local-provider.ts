import { join } from "node:path";
import { stringify } from "yaml";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import { color, formatMs, progress } from "../../output.js";
import { parseListen } from "../../server/listen-address.js";
import type { Provider, ProviderPlan, UpContext } from "../../up/provider.js";
import { serveHere } from "../../up/serve-here.js";
import { probeAgent } from "./agent-probe.js";
import { raiseHostLimits } from "./host-limits.js";
import { storageDisksFor } from "./machine-disks.js";
import { ensureNodeImage } from "./node-image.js";
import { listMachines, startMachine, type MachineSpec } from "./node-machine.js";
import { ensureNodeNetwork } from "./node-network.js";
import { planNodes, withWorkers } from "./node-plan.js";

/**
 * Real node machines on this host. Each boots the node image (systemd as PID 1); its
 * image-baked `sprout-agent.service` finds the bootstrap file the provider wrote, as cloud-init
 * would, joins and configures the node. The machines keep running after `up` (`sprout down`).
 */
export const localProvider: Provider = {
  async prepare({ dir, paths, spec: written, options }: UpContext): Promise<ProviderPlan> {
    const base = withWorkers(written, options.workers);
    const nodes = planNodes(base);
    progress(`sprout up ${base.name}: ${nodes.length} node machine(s)`);
    const image = await ensureNodeImage((line) => progress(color.dim(`  ${line}`)));
    progress(`node image ${image.version}`);
    // The coordinator refuses agents from any other image than the one these machines boot.
    const spec = { ...base, imageVersion: base.imageVersion ?? image.version };
    const { port } = parseListen(spec.coordinator.listen, "coordinator.listen");
    const running = new Set((await listMachines(spec.name)).map((m) => m.node));
    const network = await ensureNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));
    const machineSpec = (i: number): MachineSpec => ({
      cluster: spec.name,
      node: nodes[i]!.name,
      imageRoot: image.root,
      stateDir: join(paths.stateDir, "machines", nodes[i]!.name),
      netns: network.nodes[i]!.netns,
      address: network.nodes[i]!.address,
      disks: nodes[i]!.roles.includes("storage") ? storageDisksFor(spec) : [],
    });
    return {
      spec,
      nodes,
      openCoordinator: () => serveHere(spec, paths, { host: network.gateway, port, advertise: [network.gateway] }),
      async launch({ co, bootstrap }) {
        const t0 = Date.now();
        await raiseHostLimits((line) => progress(color.dim(`  ${line}`)));
        await Promise.all(
          nodes.map(async (node, i) => {
            if (running.has(node.name)) return; // already up: its agent reconnects to this coordinator
            const file = { path: NODE_PATHS.bootstrap, content: stringify(bootstrap(node)), mode: 0o600 };
            await startMachine({ ...machineSpec(i), files: [file] });
          }),
        );
        const already = running.size ? `, ${running.size} already running` : "";
        progress(`${nodes.length - running.size} machine(s) booted in ${formatMs(Date.now() - t0)}${already}; agents are configuring their nodes`);
        return {
          t0,
          status: () => co.clusterStatus(),
          probe: (n) => probeAgent(machineSpec(nodes.indexOf(n))),
          endNote: `the machines keep running (\`sprout down ${dir}\` removes them)`,
        };
      },
    };
  },
};
