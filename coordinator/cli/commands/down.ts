import { rm } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../../shared/errors.js";
import { clusterNameFor, deploymentPaths, loadClusterSpec } from "../../deployment.js";
import { cleanupCluster, listMachines } from "../../providers/local/node-machine.js";
import { destroyNodeNetwork } from "../../providers/local/node-network.js";
import { readServeInfo } from "../serve-info.js";
import { progress } from "../output.js";

/**
 * `sprout down`: removes what `sprout up` created on this machine — node machines (processes,
 * mounts, cgroups), the node network, the nodes' state — and the cluster's record of its nodes,
 * tokens and timelines. The cluster's identity (cluster.yaml, PKI, admin credentials) stays, so
 * the next `up` builds the same cluster again. Idempotent: safe after a crash or a second time.
 */
export async function downCommand(dir: string): Promise<number> {
  const paths = deploymentPaths(dir);
  const name = await loadClusterSpec(paths).then((s) => s.name, () => clusterNameFor(dir));
  if (await readServeInfo(paths)) throw new UserError(`a coordinator is running for ${paths.root}; stop it first (sprout serve)`);
  const machines = await listMachines(name);
  await cleanupCluster(name);
  await destroyNodeNetwork(name);
  for (const sub of ["machines", "dry-run", "nodes", "events", "tokens"]) await rm(join(paths.stateDir, sub), { recursive: true, force: true });
  progress(`removed ${machines.length} node machine(s), the node network and node state of cluster ${name}`);
  return 0;
}
