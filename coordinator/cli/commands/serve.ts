import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createLogger } from "../../../shared/log.js";
import { join } from "node:path";
import { UNSEALED_MARKER, unsealState } from "../../providers/cloud/sealed-state.js";
import { deploymentPaths, loadClusterSpec } from "../../deployment.js";
import { startCoordinator } from "../../start.js";
import { parseListen } from "../../server/listen-address.js";
import { progress } from "../../output.js";

/**
 * `sprout serve <dir>`: run the coordinator until SIGINT/SIGTERM. With `--sealed FILE --key-file
 * KEY` (a cloud master), the deployment is first unsealed into `dir` unless a whole unsealed state is there.
 */
export async function serveCommand(dir: string, listenOverride: string | undefined, advertise: string[], sealed?: { file: string; keyFile: string }): Promise<number> {
  const paths = deploymentPaths(dir);
  if (sealed && !existsSync(join(paths.root, UNSEALED_MARKER))) {
    const key = Buffer.from((await readFile(sealed.keyFile, "utf8")).trim(), "base64");
    const files = await unsealState(await readFile(sealed.file, "utf8"), key, paths.root);
    progress(`unsealed the coordinator state into ${paths.root} (${files} files)`);
  }
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
