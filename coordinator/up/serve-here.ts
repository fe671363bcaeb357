import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { createLogger } from "../../shared/log.js";
import type { DeploymentPaths } from "../deployment.js";
import { startCoordinator } from "../start.js";
import type { CoordinatorSession } from "./provider.js";

/**
 * The coordinator served by this process for as long as `up` runs: the way of every provider
 * whose nodes can reach this machine (local, ssh, the dry run).
 */
export async function serveHere(
  spec: ClusterSpec,
  paths: DeploymentPaths,
  listen: { host: string; port: number; advertise: string[] },
  dial?: string,
): Promise<CoordinatorSession> {
  const log = createLogger({ component: "coordinator", level: "warn", base: { cluster: spec.name } });
  const started = await startCoordinator(spec, paths, { ...listen, log });
  return { co: started.co, url: dial ?? started.server.url, revokeTokensAtEnd: true, stop: () => started.stop() };
}
