import type { Logger } from "../shared/log.js";
import type { ClusterSpec } from "../shared/cluster-spec.js";
import { Coordinator } from "./coordinator.js";
import type { DeploymentPaths } from "./deployment.js";
import { acquireStateLock } from "./state/state-lock.js";
import { listen, type RunningServer } from "./server/listen.js";
import { removeServeInfo, writeServeInfo } from "./access/serve-info.js";
import { ensureAdminCredentials } from "./access/admin-credentials.js";

export interface StartedCoordinator {
  co: Coordinator;
  server: RunningServer;
  stop(): Promise<void>;
}

/** Takes the deployment's lock, opens its state and serves it; `stop` undoes all three. */
export async function startCoordinator(spec: ClusterSpec, paths: DeploymentPaths, options: { host: string; port: number; advertise: string[]; log: Logger }): Promise<StartedCoordinator> {
  const release = await acquireStateLock(paths.lock);
  try {
    const co = await Coordinator.open(spec, paths);
    await ensureAdminCredentials(paths, co.pki);
    const server = await listen(co, options);
    await writeServeInfo(paths, { url: server.url, pid: process.pid, caPin: co.pki.caPin, startedAt: Date.now() });
    let stopped = false;
    return {
      co,
      server,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await server.close();
        await removeServeInfo(paths);
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
