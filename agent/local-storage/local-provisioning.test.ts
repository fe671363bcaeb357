import { describe, expect, it } from "vitest";
import { planLocalVolumes, PROVISIONER, SELECTED_NODE, VOLUME_NODE } from "./local-provisioning.js";
import { Claim, Volume } from "../kube/storage-objects.js";

const UID = "0b6f7c1e-2d3a-4b5c-8d9e-0123456789ab";
const policy = { nodeName: "service-1", className: "sprout-local", reclaimPolicy: "Delete", baseDir: "/var/lib/sprout/local-volumes" };

function claim(over: { uid?: string; node?: string; modes?: string[]; size?: string; cls?: string; phase?: string; volumeMode?: string; provisioner?: string } = {}): Claim {
  return Claim.parse({
    metadata: { name: "data", namespace: "lab", uid: over.uid ?? UID, annotations: { [SELECTED_NODE]: over.node ?? "service-1", "volume.beta.kubernetes.io/storage-provisioner": over.provisioner ?? PROVISIONER } },
    spec: { storageClassName: over.cls ?? "sprout-local", accessModes: over.modes ?? ["ReadWriteOnce"], volumeMode: over.volumeMode, resources: { requests: over.size === "" ? {} : { storage: over.size ?? "2Gi" } } },
    status: { phase: over.phase ?? "Pending" },
  });
}

function volume(name: string, over: { node?: string; phase?: string; policy?: string; path?: string; by?: string } = {}): Volume {
  return Volume.parse({
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": over.by ?? PROVISIONER, [VOLUME_NODE]: over.node ?? "service-1" } },
    spec: { persistentVolumeReclaimPolicy: over.policy ?? "Delete", local: { path: over.path ?? `${policy.baseDir}/${name}` } },
    status: { phase: over.phase ?? "Released" },
  });
}

describe("node-local volumes", () => {
  it("makes a directory and a PersistentVolume bound to the claim, pinned to this node", () => {
    const plan = planLocalVolumes([claim()], [], policy);
    expect(plan.refused).toEqual([]);
    expect(plan.create).toHaveLength(1);
    expect(plan.create[0]!.dir).toBe(`${policy.baseDir}/pvc-${UID}`);
    expect(plan.create[0]!.volume).toMatchObject({
      metadata: { name: `pvc-${UID}`, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER, [VOLUME_NODE]: "service-1" } },
      spec: {
        capacity: { storage: "2Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: "sprout-local",
        claimRef: { namespace: "lab", name: "data", uid: UID },
        local: { path: `${policy.baseDir}/pvc-${UID}` },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["service-1"] }] }] } },
      },
    });
  });

  it("leaves claims of other nodes, other classes, bound ones, not yet handed over, and those it provisioned already", () => {
    for (const c of [claim({ node: "service-2" }), claim({ cls: "sprout-shared" }), claim({ phase: "Bound" }), claim({ provisioner: "kubernetes.io/glusterfs" })]) expect(planLocalVolumes([c], [], policy).create).toEqual([]);
    expect(planLocalVolumes([claim()], [volume(`pvc-${UID}`, { phase: "Available" })], policy).create).toEqual([]);
  });

  it("refuses, with the reason, what a directory on one node cannot give", () => {
    const refused = (c: Claim) => planLocalVolumes([c], [], policy).refused.map((r) => r.message);
    expect(refused(claim({ modes: ["ReadWriteMany"] }))[0]).toMatch(/gives ReadWriteOnce only, not ReadWriteMany; for ReadWriteMany or ReadOnlyMany use sprout-shared/);
    expect(refused(claim({ volumeMode: "Block" }))[0]).toMatch(/filesystem volumes only/);
    expect(refused(claim({ size: "" }))[0]).toMatch(/requests no storage size/);
  });

  it("removes released Delete volumes of this node only, and only directories it made", () => {
    const name = `pvc-${UID}`;
    expect(planLocalVolumes([], [volume(name)], policy).remove).toEqual([{ name, dir: `${policy.baseDir}/${name}` }]);
    for (const v of [volume(name, { node: "service-2" }), volume(name, { policy: "Retain" }), volume(name, { phase: "Bound" }), volume(name, { by: "other" }), volume(name, { path: "/etc" }), volume("pvc-../../etc", { path: `${policy.baseDir}/pvc-../../etc` })]) {
      expect(planLocalVolumes([], [v], policy).remove).toEqual([]);
    }
  });
});
