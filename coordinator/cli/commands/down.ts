import { rm } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../../shared/errors.js";
import { clusterNameFor, deploymentPaths, readClusterSpec } from "../../deployment.js";
import { cleanupCluster, listMachines } from "../../providers/local/node-machine.js";
import { destroyNodeNetwork } from "../../providers/local/node-network.js";
import { readServeInfo } from "../../access/serve-info.js";
import { cloudDir } from "../../providers/cloud/render-cloud.js";
import { progress } from "../../output.js";

/**
 * `sprout down`: removes what `sprout up` created on this machine — node machines (processes,
 * mounts, cgroups), the node network, the nodes' state — and the cluster's record of its nodes,
 * tokens and timelines. The cluster's identity (cluster.yaml, PKI, admin credentials) stays, so
 * the next `up` builds the same cluster again. Idempotent: safe after a crash or a second time.
 */
export async function downCommand(dir: string): Promise<number> {
  const paths = deploymentPaths(dir);
  // Without a cluster.yaml the directory's name is the cluster's. A cluster.yaml that does not
  // validate is an error, not a guess: it may name another cluster or another provider.
  const spec = await readClusterSpec(paths);
  const name = spec?.name ?? clusterNameFor(dir);
  // Machines Sprout did not create are not Sprout's to remove, and forgetting their nodes here
  // would leave them running with identities the cluster no longer knows.
  if (spec?.provider.type === "ssh") throw new UserError(`${paths.clusterYaml}: provider ssh: sprout down does not reset machines it did not create (stop sprout-agent, kubelet and containerd on the hosts yourself); nothing was removed`);
  if (spec && spec.provider.type !== "local") throw new UserError(`${paths.clusterYaml}: provider ${spec.provider.type}: remove the VMs with \`tofu destroy\` (or terraform) in ${cloudDir(paths, spec)}; nothing was removed`);
  if (await readServeInfo(paths)) throw new UserError(`a coordinator is running for ${paths.root}; stop it first (sprout serve)`);
  const machines = await listMachines(name);
  await cleanupCluster(name);
  await destroyNodeNetwork(name);
  for (const sub of ["machines", "dry-run", "nodes", "events", "tokens"]) await rm(join(paths.stateDir, sub), { recursive: true, force: true });
  progress(`removed ${machines.length} node machine(s), the node network and node state of cluster ${name}`);
  return 0;
}
