import { describe, expect, it } from "vitest";
import { planSharedVolumes, SHARED_DIR, SHARED_PROVISIONER, volumeSourceFor, type SharedBackend } from "./shared-provisioning.js";
import { Claim, StorageClass, Volume } from "../kube/storage-objects.js";

const UID = "0b6f7c1e-2d3a-4b5c-8d9e-0123456789ab";
const UID2 = "1b6f7c1e-2d3a-4b5c-8d9e-0123456789ab";
const GiB = 2 ** 30;
const classes = [
  StorageClass.parse({ metadata: { name: "sprout-shared" }, provisioner: SHARED_PROVISIONER, reclaimPolicy: "Delete" }),
  StorageClass.parse({ metadata: { name: "sprout-reference" }, provisioner: SHARED_PROVISIONER, parameters: { readOnly: "true" } }),
  StorageClass.parse({ metadata: { name: "keep" }, provisioner: SHARED_PROVISIONER, reclaimPolicy: "Retain" }),
  StorageClass.parse({ metadata: { name: "sprout-local" }, provisioner: "sprout.dev/local-path" }),
];
const backend = (version = "1.20.2", totalGiB = 10, freeGiB = totalGiB): SharedBackend => ({ source: volumeSourceFor(version, "sprout-shared", "/mnt/sprout-shared"), capacity: { totalBytes: totalGiB * GiB, freeBytes: freeGiB * GiB } });

function claim(over: { name?: string; uid?: string; cls?: string; modes?: string[]; size?: string; phase?: string; volumeName?: string; capacity?: string; from?: string; volumeMode?: string } = {}): Claim {
  return Claim.parse({
    metadata: { name: over.name ?? "results", namespace: "lab", uid: over.uid ?? UID, annotations: { "volume.beta.kubernetes.io/storage-provisioner": SHARED_PROVISIONER } },
    spec: {
      storageClassName: over.cls ?? "sprout-shared",
      accessModes: over.modes ?? ["ReadWriteMany"],
      volumeMode: over.volumeMode,
      volumeName: over.volumeName,
      resources: { requests: over.size === "" ? {} : { storage: over.size ?? "1Gi" } },
      dataSource: over.from ? { kind: "PersistentVolumeClaim", name: over.from } : undefined,
    },
    status: { phase: over.phase ?? "Pending", capacity: over.capacity ? { storage: over.capacity } : {} },
  });
}

function volume(name: string, over: { size?: string; phase?: string; policy?: string } = {}): Volume {
  return Volume.parse({
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": SHARED_PROVISIONER, [SHARED_DIR]: name } },
    spec: { persistentVolumeReclaimPolicy: over.policy ?? "Delete", capacity: { storage: over.size ?? "1Gi" } },
    status: { phase: over.phase ?? "Bound" },
  });
}

describe("shared volumes: a directory with a quota per claim", () => {
  it("gives a claim its own directory and limit, mounted through the in-tree plugin on 1.20", () => {
    const plan = planSharedVolumes([claim()], [], classes, backend());
    expect(plan.refused).toEqual([]);
    expect(plan.create).toHaveLength(1);
    expect(plan.create[0]).toMatchObject({ dir: `pvc-${UID}`, bytes: GiB });
    expect(plan.create[0]!.volume).toMatchObject({
      metadata: { name: `pvc-${UID}`, annotations: { "pv.kubernetes.io/provisioned-by": SHARED_PROVISIONER, [SHARED_DIR]: `pvc-${UID}` } },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteMany"],
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: "sprout-shared",
        claimRef: { namespace: "lab", name: "results", uid: UID },
        glusterfs: { endpoints: "sprout-glusterfs", endpointsNamespace: "default", path: `sprout-shared/pvc-${UID}`, readOnly: false },
      },
    });
  });

  it("on 1.26+ mounts the directory from the service nodes' mount, read-only ones from the -ro mount", () => {
    const shared = planSharedVolumes([claim()], [], classes, backend("1.31.0")).create[0]!.volume as { spec: Record<string, unknown> };
    expect(shared.spec.hostPath).toEqual({ path: `/mnt/sprout-shared/pvc-${UID}`, type: "Directory" });
    expect(JSON.stringify(shared.spec.nodeAffinity)).toContain('"key":"sprout.dev/role-service","operator":"Exists"');
    const claims = [claim({ name: "data", uid: UID2, phase: "Bound", volumeName: `pvc-${UID2}` }), claim({ cls: "sprout-reference", modes: ["ReadOnlyMany"], from: "data" })];
    const ref = planSharedVolumes(claims, [volume(`pvc-${UID2}`)], classes, backend("1.31.0")).create[0]!;
    expect(ref.cloneFrom).toBe(`pvc-${UID2}`);
    expect((ref.volume as { spec: { hostPath: unknown } }).spec.hostPath).toEqual({ path: `/mnt/sprout-shared-ro/pvc-${UID}`, type: "Directory" });
  });

  it("takes the class's reclaim policy: Retain keeps a released volume, Delete removes it", () => {
    expect((planSharedVolumes([claim({ cls: "keep" })], [], classes, backend()).create[0]!.volume as { spec: { persistentVolumeReclaimPolicy: string } }).spec.persistentVolumeReclaimPolicy).toBe("Retain");
    const released = [volume(`pvc-${UID}`, { phase: "Released" }), volume(`pvc-${UID2}`, { phase: "Released", policy: "Retain" })];
    expect(planSharedVolumes([], released, classes, backend()).remove).toEqual([{ name: `pvc-${UID}`, dir: `pvc-${UID}` }]);
  });

  it("copies a reference claim from its source and mounts it read-only", () => {
    const source = claim({ name: "data", uid: UID2, phase: "Bound", volumeName: `pvc-${UID2}`, size: "2Gi" });
    const ref = planSharedVolumes([source, claim({ cls: "sprout-reference", modes: ["ReadOnlyMany"], from: "data", size: "2Gi" })], [volume(`pvc-${UID2}`, { size: "2Gi" })], classes, backend()).create[0]!;
    expect(ref.cloneFrom).toBe(`pvc-${UID2}`);
    expect((ref.volume as { spec: { glusterfs: { readOnly: boolean }; mountOptions: string[] } }).spec).toMatchObject({ glusterfs: { readOnly: true }, mountOptions: ["ro"] });
  });

  it("grows a bound claim that asks for more, within what the volume can still give", () => {
    const claims = [claim({ phase: "Bound", volumeName: `pvc-${UID}`, size: "3Gi", capacity: "1Gi" })];
    expect(planSharedVolumes(claims, [volume(`pvc-${UID}`)], classes, backend()).expand).toEqual([expect.objectContaining({ volumeName: `pvc-${UID}`, dir: `pvc-${UID}`, bytes: 3 * GiB, size: "3Gi" })]);
    const tooMuch = planSharedVolumes([claim({ phase: "Bound", volumeName: `pvc-${UID}`, size: "30Gi" })], [volume(`pvc-${UID}`)], classes, backend());
    expect(tooMuch.expand).toEqual([]);
    expect(tooMuch.refused[0]!.message).toMatch(/cannot grow to 30Gi: the shared volume has 9Gi not promised/);
  });

  it("refuses what it cannot give, saying why, and leaves other claims alone", () => {
    const refused = (c: Claim, b: SharedBackend | undefined = backend(), volumes: Volume[] = []) => planSharedVolumes([c, claim({ name: "fine", uid: UID2 })], volumes, classes, b);
    const cases: [Claim, RegExp][] = [
      [claim({ size: "20Gi" }), /requests 20Gi, more than the shared volume has free: 10Gi not promised to other claims, of 10Gi/],
      [claim({ modes: ["ReadOnlyMany"] }), /gives ReadWriteMany or ReadWriteOnce, not ReadOnlyMany; for read-only reference data use sprout-reference/],
      [claim({ cls: "sprout-reference", modes: ["ReadWriteMany"] }), /is read-only: it gives ReadOnlyMany, not ReadWriteMany/],
      [claim({ cls: "sprout-reference", modes: ["ReadOnlyMany"] }), /set spec.dataSource to/],
      [claim({ cls: "sprout-reference", modes: ["ReadOnlyMany"], from: "nothing" }), /claim lab\/nothing does not exist/],
      [claim({ volumeMode: "Block" }), /filesystem volumes only, not volumeMode Block/],
      [claim({ size: "" }), /requests no storage size/],
      [claim({ modes: [] }), /names no access mode/],
    ];
    for (const [c, why] of cases) {
      const plan = refused(c);
      expect(plan.refused.map((r) => r.message), String(why)).toEqual([expect.stringMatching(why)]);
      expect(plan.refused[0]!.reason).toBe("ProvisioningFailed");
      expect(plan.create.map((p) => p.claim.metadata.name)).toEqual(["fine"]);
    }
  });

  it("counts space promised to existing volumes, and to claims earlier in the same round", () => {
    const plan = planSharedVolumes([claim({ size: "4Gi" }), claim({ name: "second", uid: UID2, size: "4Gi" })], [volume("pvc-2b6f7c1e-2d3a-4b5c-8d9e-0123456789ab", { size: "4Gi", policy: "Retain", phase: "Released" })], classes, backend());
    expect(plan.create.map((c) => c.claim.metadata.name)).toEqual(["results"]);
    expect(plan.refused[0]!.message).toMatch(/requests 4Gi, more than the shared volume has free: 2Gi not promised/);
  });

  it("without storage nodes tells every claim of its classes why it waits, and ignores other classes", () => {
    const plan = planSharedVolumes([claim(), claim({ name: "local", uid: UID2, cls: "sprout-local" })], [], classes, undefined);
    expect(plan.create).toEqual([]);
    expect(plan.refused.map((r) => [r.claim.metadata.name, r.message])).toEqual([["results", expect.stringMatching(/this cluster has no storage nodes, so storage class sprout-shared has no volume to give: add a node group with role storage/)]]);
  });

  it("leaves bound claims, claims of other provisioners and volumes it did not make", () => {
    const other = Claim.parse({ ...claim(), metadata: { name: "x", namespace: "lab", uid: UID2, annotations: { "volume.kubernetes.io/storage-provisioner": "other" } } });
    const plan = planSharedVolumes([claim({ phase: "Bound", volumeName: `pvc-${UID}` }), other], [Volume.parse({ metadata: { name: "static", annotations: {} }, spec: { persistentVolumeReclaimPolicy: "Delete" }, status: { phase: "Released" } })], classes, backend());
    expect(plan).toEqual({ create: [], expand: [], remove: [], refused: [] });
  });
});
