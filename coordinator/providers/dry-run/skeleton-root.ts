import { mkdir, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { stringify } from "yaml";
import type { BootstrapInput } from "../../../shared/bootstrap.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";

/**
 * A skeleton node root for `sprout up --dry-run`: only what the image would contribute that the
 * agent's steps read (machine-id, the units Debian's packages ship) plus the
 * bootstrap file the provider writes as cloud-init would. The agent configures it offline.
 */
/** Units the node image's Debian packages ship, which role steps enable. */
const PACKAGED_UNITS = [
  ["containerd.service", "containerd container runtime (as packaged by Debian)", "/usr/bin/containerd"],
  ["nginx.service", "nginx (as packaged by Debian)", "/usr/sbin/nginx"],
  ["glusterd.service", "GlusterFS management daemon (as packaged by Debian)", "/usr/sbin/glusterd"],
] as const;

export async function writeSkeletonRoot(root: string, bootstrap: BootstrapInput): Promise<void> {
  await mkdir(join(root, "lib/systemd/system"), { recursive: true });
  await mkdir(join(root, "etc"), { recursive: true });
  // "wx": a node keeps its machine-id across re-runs, as a real machine does.
  await writeFile(join(root, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`, { flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  for (const [unit, description, exec] of PACKAGED_UNITS) {
    await writeFile(join(root, "lib/systemd/system", unit), `[Unit]\nDescription=${description}\n\n[Service]\nExecStart=${exec}\n\n[Install]\nWantedBy=multi-user.target\n`);
  }
  await writeFileAtomic(join(root, "etc/sprout/bootstrap.yaml"), stringify(bootstrap), 0o600);
}
