import { createLogger } from "../../../shared/log.js";
import { deploymentPaths, loadClusterSpec } from "../../deployment.js";
import { parseListen, startCoordinator } from "../../start.js";
import { progress } from "../output.js";

/** `sprout serve <dir>`: run the coordinator until SIGINT/SIGTERM. */
export async function serveCommand(dir: string, listenOverride: string | undefined, advertise: string[]): Promise<number> {
  const paths = deploymentPaths(dir);
  const spec = await loadClusterSpec(paths);
  const { host, port } = listenOverride === undefined ? parseListen(spec.coordinator.listen) : parseListen(listenOverride, "--listen");
  const log = createLogger({ component: "coordinator", base: { cluster: spec.name } });
  const started = await startCoordinator(spec, paths, { host, port, advertise: [...spec.coordinator.advertise, ...advertise], log });
  progress(`coordinator for ${spec.name} listening on ${started.server.url} (CA pin ${started.co.pki.caPin})`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
  });
  progress("stopping coordinator");
  await started.stop();
  return 0;
}
