import type { Host } from "./host.js";

/** The GlusterFS CLI in script mode (no prompts), against this node's glusterd. */
export function gluster(host: Host, args: string[]) {
  return host.exec(["gluster", "--mode=script", ...args], { timeoutMs: 120_000 });
}
