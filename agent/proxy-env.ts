import type { NodeManifest } from "../shared/node-manifest.js";

const NAMES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] as const;

/**
 * The cluster's egress proxy for the agent itself: what it runs (kubectl, gluster, mkfs, nginx)
 * inherits its environment, so each pass sets — or clears — the proxy variables from the
 * manifest before running steps. The agent's unit also gets the proxy drop-in, so the settings
 * hold from boot. Its own calls to the coordinator stay direct: the coordinator is on the
 * cluster's network, which NO_PROXY covers.
 */
export function applyProxyEnv(m: NodeManifest, env: NodeJS.ProcessEnv = process.env): void {
  const p = m.egressProxy;
  const values: Record<(typeof NAMES)[number], string | undefined> = { HTTP_PROXY: p?.httpProxy, HTTPS_PROXY: p?.httpsProxy, NO_PROXY: p?.noProxy };
  for (const name of NAMES) {
    for (const key of [name, name.toLowerCase()]) {
      const value = values[name];
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
  }
}
