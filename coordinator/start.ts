import { UserError } from "../shared/errors.js";
import type { Logger } from "../shared/log.js";
import type { ClusterSpec } from "../shared/cluster-spec.js";
import { Coordinator } from "./coordinator.js";
import type { DeploymentPaths } from "./deployment.js";
import { acquireStateLock } from "./state/state-lock.js";
import { listen, type RunningServer } from "./server/listen.js";
import { removeServeInfo, writeServeInfo } from "./cli/serve-info.js";
import { ensureAdminCredentials } from "./cli/admin-credentials.js";

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

/**
 * "host:port" → its parts. `what` names where the text came from (`--listen`, or the spec
 * field), because a bad value is the user's to fix: a UserError, exit code 2.
 */
export function parseListen(listen: string, what = "coordinator.listen"): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = i < 0 ? "" : listen.slice(0, i);
  const portText = i < 0 ? "" : listen.slice(i + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host === "" || !(port >= 0 && port <= 65535)) {
    throw new UserError(`${what} must be host:port with a port from 0 to 65535, got "${listen}"`);
  }
  return { host, port };
}
