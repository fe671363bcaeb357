import { deploymentPaths, loadClusterSpec } from "../../deployment.js";
import { UserError } from "../../../shared/errors.js";
import { isCloudProvider } from "../../../shared/cloud-provider.js";
import { openMasterLink } from "../../providers/cloud/master-link.js";
import { progress } from "../../output.js";
import { API_TUNNEL_PORT } from "../../access/admin-kubeconfig.js";

/**
 * `sprout tunnel [dir]`: for a cloud cluster, holds 127.0.0.1:16443 open to the API server on the
 * master's private address, through SSH to the master, until Ctrl-C. kubectl with the kubeconfig
 * from `sprout kubeconfig` (server 127.0.0.1:16443, TLS name the master's address) goes through it.
 */
export async function tunnelCommand(dir: string): Promise<number> {
  const paths = deploymentPaths(dir);
  const spec = await loadClusterSpec(paths);
  if (!isCloudProvider(spec)) throw new UserError(`${paths.clusterYaml}: provider ${spec.provider.type} needs no tunnel: its API server is reachable directly`);
  const link = await openMasterLink(spec, paths, 5);
  const tunnel = await link.session.forwardLocal(link.plan.master.privateIp, 6443, API_TUNNEL_PORT);
  progress(`API server of ${spec.name}: https://127.0.0.1:${tunnel.port} -> ${link.plan.master.privateIp}:6443 through SSH to the master; Ctrl-C ends it`);
  const ended = await Promise.race([
    new Promise<"signal">((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve("signal"));
    }),
    link.session.closed.then(() => "lost" as const),
  ]);
  await tunnel.close();
  link.session.close();
  if (ended === "lost") {
    progress("the SSH connection to the master ended; run sprout tunnel again");
    return 1;
  }
  return 0;
}
