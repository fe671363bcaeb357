import { NODE_PATHS, NodeManifest } from "../shared/node-manifest.js";
import type { Host } from "./host/host.js";

/**
 * The node's copy of its last manifest. A node that reboots (or whose agent restarts) while the
 * coordinator is away — a laptop closed after `sprout up` — still converges to what it was told
 * last; newer revisions arrive when the coordinator answers again.
 */
export async function loadCachedManifest(host: Host): Promise<NodeManifest | undefined> {
  const text = await host.readFile(NODE_PATHS.manifestCache);
  if (!text) return undefined;
  try {
    const parsed = NodeManifest.safeParse(JSON.parse(text.toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a damaged cache is simply not used
  }
}

export async function storeManifest(host: Host, manifest: NodeManifest): Promise<void> {
  await host.writeFile(NODE_PATHS.manifestCache, JSON.stringify(manifest), 0o600);
}
