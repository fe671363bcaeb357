import { join, resolve } from "node:path";
import { UserError } from "../../../shared/errors.js";
import { deploymentPaths, readClusterSpec } from "../../deployment.js";
import { providerFor } from "../../providers/registry.js";
import { runUp } from "../../up/up-driver.js";
import type { UpOptions } from "../../up/provider.js";

export type { UpOptions } from "../../up/provider.js";

/**
 * `sprout up [dir]`: brings the cluster cluster.yaml describes up on its provider and follows
 * every node until it converged or failed; `--dry-run` runs only the join protocol.
 */
export async function upCommand(dir: string, options: UpOptions): Promise<number> {
  const configured = (await readClusterSpec(deploymentPaths(dir)))?.provider.type ?? "local";
  const wanted = options.provider ?? configured;
  if (options.machines && wanted !== configured) {
    const file = join(resolve(dir), "cluster.yaml");
    throw new UserError(`--provider ${wanted}, but ${file} configures provider.type: ${configured}; set provider there (hosts and all) and run again`);
  }
  return runUp(providerFor(configured, !options.machines), dir, options);
}
