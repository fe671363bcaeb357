import { describe, expect, it } from "vitest";
import { ClusterSpec } from "../../shared/cluster-spec.js";
import type { NodeRole } from "../../shared/roles.js";
import type { NodeStatus } from "../../shared/status.js";
import type { NodeRecord } from "../state/records.js";
import { evaluateBarriers } from "../barriers.js";
import { renderStorage, storageServers } from "./storage-manifest.js";

const spec = ClusterSpec.parse({
  name: "demo",
  nodeGroups: [
    { name: "master", roles: ["master", "edge"], count: 1 },
    { name: "service", roles: ["service"], count: 2 },
    { name: "storage", roles: ["storage"], count: 2 },
  ],
  storage: { replication: 2, volumeSizeGiB: 5 },
});
const record = (name: string, roles: NodeRole[], address: string, joinedAt: number) => ({ name, roles, addresses: [address], joinedAt }) as NodeRecord;
const nodes = [record("storage-2", ["storage"], "10.240.0.14", 100), record("master-1", ["master", "edge"], "10.240.0.10", 50), record("storage-1", ["storage"], "10.240.0.13", 200)];

describe("shared storage in manifests", () => {
  it("lists storage nodes in join order, so bricks never reorder as more join", () => {
    expect(storageServers(nodes)).toEqual([
      { name: "storage-2", address: "10.240.0.14" },
      { name: "storage-1", address: "10.240.0.13" },
    ]);
  });

  it("the first storage node to join forms the volume; service nodes mount it; the master publishes it", () => {
    const servers = storageServers(nodes);
    const first = renderStorage(spec, nodes[0]!, servers)!;
    expect(first).toMatchObject({ volume: "sprout-shared", replication: 2, capacityGiB: 5, formsVolume: true, brick: { device: "/dev/vdb", dir: "/srv/sprout/brick/sprout-shared" } });
    expect(first.mountPath).toBeUndefined();
    expect(renderStorage(spec, nodes[2]!, servers)!.formsVolume).toBe(false);
    const service = renderStorage(spec, record("service-1", ["service"], "10.240.0.11", 300), servers)!;
    expect(service).toMatchObject({ mountPath: "/mnt/sprout-shared", formsVolume: false });
    expect(service.brick).toBeUndefined();
    expect(renderStorage(spec, nodes[1]!, servers)).toMatchObject({ servers });
    expect(renderStorage(spec, record("edge-1", ["edge"], "10.240.0.20", 1), servers)).toBeUndefined();
    expect(renderStorage(ClusterSpec.parse({ name: "demo" }), nodes[1]!, [])).toBeUndefined();
  });

  it("barriers count a storage step only when it really ran, not when it was skipped after a failure", () => {
    const status = (name: string, steps: Record<string, string>): NodeStatus => ({
      name,
      roles: ["storage"],
      addresses: [],
      phase: "configuring",
      joinedAt: 0,
      revision: 1,
      connected: true,
      timeline: Object.entries(steps).map(([id, outcome]) => ({ name: `step:${id}`, status: "finished", detail: outcome })),
    });
    const ready = (list: NodeStatus[]) => evaluateBarriers(spec, list);
    expect(ready([status("storage-1", { "storage/glusterd": "changed" }), status("storage-2", { "storage/glusterd": "skipped" })])["storage-nodes-reported"]).toBe(false);
    expect(ready([status("storage-1", { "storage/glusterd": "changed" }), status("storage-2", { "storage/glusterd": "unchanged" })])["storage-nodes-reported"]).toBe(true);
    expect(ready([status("storage-1", { "storage/volume": "skipped" })])["storage-volume-ready"]).toBe(false);
    expect(ready([status("storage-1", { "storage/volume": "changed" })])["storage-volume-ready"]).toBe(true);
  });
});
