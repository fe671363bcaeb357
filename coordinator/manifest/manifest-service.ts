import { ApiError } from "../../shared/errors.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StateStore } from "../state/store.js";
import type { NodeRecord } from "../state/records.js";
import { manifestHash, renderManifestBody, type ClusterFacts } from "./render-manifest.js";

/**
 * Keeps each node's manifest revision honest: the body is re-rendered from current state and
 * the revision is bumped (and persisted) only when the body's hash changed, so agents can
 * compare revisions and a coordinator restart does not renumber anything.
 */
export class ManifestService {
  constructor(
    private readonly spec: ClusterSpec,
    private readonly store: StateStore,
    private readonly facts: (pending?: NodeRecord) => ClusterFacts,
  ) {}

  /**
   * Revision 1 for a node that is joining, stamped into its record before the record's first
   * write — one durable write per join instead of two.
   */
  firstRevision(record: NodeRecord): { record: NodeRecord; manifest: NodeManifest } {
    const body = renderManifestBody(this.spec, record, this.facts(record));
    return { record: { ...record, manifestRevision: 1, manifestHash: manifestHash(body) }, manifest: { ...body, revision: 1 } };
  }

  async current(nodeName: string): Promise<NodeManifest> {
    return this.store.lock.run(`manifest:${nodeName}`, async () => {
      const node = this.store.getNode(nodeName);
      if (!node) throw new ApiError(404, "node_unknown", `node ${nodeName} has not joined`);
      const body = renderManifestBody(this.spec, node, this.facts());
      const hash = manifestHash(body);
      let revision = node.manifestRevision;
      if (hash !== node.manifestHash) {
        revision += 1;
        await this.store.putNode({ ...node, manifestRevision: revision, manifestHash: hash });
      }
      return { ...body, revision };
    });
  }
}
