import type { NodeManifest } from "../shared/node-manifest.js";
import { proxyEnv } from "./builders/egress-proxy.js";

/**
 * The cluster's egress proxy for the agent itself: what it runs (kubectl, gluster, mkfs, nginx)
 * inherits its environment, so each pass sets — or clears — the proxy variables from the
 * manifest before running steps. The agent's unit also gets the proxy drop-in, so the settings
 * hold from boot. Its own calls to the coordinator stay direct: the coordinator is on the
 * cluster's network, which NO_PROXY covers.
 */
export function applyProxyEnv(m: NodeManifest, env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(proxyEnv(m))) {
    for (const key of [name, name.toLowerCase()]) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
  }
}
