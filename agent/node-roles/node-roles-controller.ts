import { z } from "zod";
import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import { listOf, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { roleLabelPatch } from "./role-labels.js";

const NODES = "/api/v1/nodes";

/** What the controller reads of a Node. */
const Node = z.object({ metadata: z.object({ name: z.string(), labels: z.record(z.string(), z.string()).default({}) }) });

export interface NodeRolesOptions extends KubeCredentials {
  /** The master's role label in this cluster's minor (masterRoleLabel). */
  masterLabel: string;
  log: Logger;
  signal: AbortSignal;
}

/**
 * The master's node-role labeller (kops-controller does the same for kOps): lists the Nodes,
 * gives each the `node-role.kubernetes.io/*` labels of its Sprout roles (and takes away those it
 * no longer has), then waits for the next change to the Node list. A node that registers later,
 * or re-registers after it was deleted, is labelled within a watch event. Errors are retried
 * with backoff; nothing else waits on it.
 */
export async function runNodeRolesController(o: NodeRolesOptions): Promise<void> {
  await reconcileLoop({ ...o, name: "node roles" }, {
    reconcile: async (client) => {
      const nodes = await client.list(NODES, listOf(Node), o.signal);
      for (const n of nodes.items) {
        const labels = roleLabelPatch(n.metadata.labels, o.masterLabel);
        if (!labels) continue;
        await client.mergePatch(`${NODES}/${encodeURIComponent(n.metadata.name)}`, { metadata: { labels } }, o.signal);
        o.log.info("node role labels set", { node: n.metadata.name, labels });
      }
      return nodes.metadata.resourceVersion;
    },
    changed: async (client, resourceVersion) => {
      await client.changed(NODES, resourceVersion, o.signal);
      // Node status changes come every few seconds per node: one list per burst is enough.
      await sleep(1_000, o.signal).catch(() => undefined);
    },
  });
}
