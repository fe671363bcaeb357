import { describe, expect, it } from "vitest";
import type { NodeManifest } from "../../shared/node-manifest.js";
import { Step, type StepOf } from "../../shared/steps.js";
import { parseWith } from "../../shared/validate.js";
import { validatePlan } from "../executor/validate-plan.js";
import { mountUnitName, storageSteps } from "./storage.js";
import { renderSharedStorageObjects } from "./control-plane/shared-storage-objects.js";
import { parseExecStart } from "./systemd-unit.js";

type Storage = NonNullable<NodeManifest["storage"]>;
const SERVERS = [
  { name: "storage-1", address: "10.240.0.13" },
  { name: "storage-2", address: "10.240.0.14" },
  { name: "storage-3", address: "10.240.0.15" },
];
const BRICK = { device: "/dev/vdb", mountPath: "/srv/sprout/brick", dir: "/srv/sprout/brick/shared" };

/** The storage builder reads only the manifest's storage section. */
function steps(storage: Partial<Storage>, kubernetesVersion = "1.20.2"): Step[] {
  const s: Storage = { volume: "shared", replication: 2, capacityGiB: 10, servers: SERVERS.slice(0, 2), formsVolume: false, ...storage };
  const built = storageSteps({ storage: s, cluster: { kubernetesVersion } } as NodeManifest).map((x, i) => parseWith(Step, x, `step ${i}`));
  validatePlan(built);
  return built;
}
const ids = (list: Step[]) => list.map((s) => s.id);
const byId = <K extends Step["kind"]>(list: Step[], id: string) => list.find((s) => s.id === id) as StepOf<K>;

describe("storage builder", () => {
  it("a storage node formats its empty volume, mounts it before glusterd, and runs glusterd", () => {
    const list = steps({ brick: BRICK });
    expect(ids(list)).toEqual(["storage/filesystem", "storage/brick-mount", "storage/brick-dir", "storage/glusterd-dropin", "storage/glusterd"]);
    expect(byId<"filesystem">(list, "storage/filesystem")).toMatchObject({ device: "/dev/vdb", fsType: "xfs" });
    const mount = byId<"systemdUnit">(list, "storage/brick-mount");
    expect(parseExecStart(mount.content!)).toEqual([["/bin/sh", "-c", "mountpoint -q /srv/sprout/brick || exec mount -o noatime,inode64 /dev/vdb /srv/sprout/brick"]]);
    // At boot, glusterd starts its bricks only once their volume is mounted.
    expect(byId<"file">(list, "storage/glusterd-dropin").content).toBe("[Unit]\nRequires=sprout-brick-mount.service\nAfter=sprout-brick-mount.service\n");
    expect(byId<"systemdUnit">(list, "storage/glusterd")).toMatchObject({ name: "glusterd.service", state: "running", enabled: true });
  });

  it("the first storage node waits for every brick, then forms the volume from whole replica sets", () => {
    const list = steps({ brick: BRICK, formsVolume: true, servers: SERVERS });
    expect(byId<"waitFor">(list, "storage/wait-bricks").condition).toEqual({ type: "barrier", name: "storage-nodes-reported" });
    // Three servers, replica 2: the third brick waits for its partner.
    expect(byId<"glusterVolume">(list, "storage/volume")).toMatchObject({
      name: "shared",
      replication: 2,
      bricks: ["10.240.0.13:/srv/sprout/brick/shared", "10.240.0.14:/srv/sprout/brick/shared"],
      dependsOn: ["storage/wait-bricks"],
    });
  });

  it("without a device the brick lives on the root filesystem", () => {
    const list = steps({ brick: { ...BRICK, device: undefined } });
    expect(ids(list)).toEqual(["storage/brick-dir", "storage/glusterd-dropin", "storage/glusterd"]);
  });

  it("a service node waits for the volume and mounts it with the other servers as fallbacks", () => {
    const list = steps({ mountPath: "/mnt/sprout-shared", servers: SERVERS });
    expect(ids(list)).toEqual(["storage/wait-volume", "storage/mount"]);
    const mount = byId<"systemdUnit">(list, "storage/mount");
    expect(mount.name).toBe("mnt-sprout\\x2dshared.mount");
    expect(mount.content).toContain("What=10.240.0.13:/shared\nWhere=/mnt/sprout-shared\nType=glusterfs\nOptions=_netdev,backup-volfile-servers=10.240.0.14:10.240.0.15\n");
  });

  it("on 1.26+ (no in-tree glusterfs plugin) a service node also mounts the volume read-only, for the reference PersistentVolume", () => {
    for (const version of ["1.30.4", "1.31.0", "1.33.0"]) {
      const list = steps({ mountPath: "/mnt/sprout-shared", servers: SERVERS }, version);
      expect(ids(list)).toEqual(["storage/wait-volume", "storage/mount", "storage/mount-ro"]);
      const ro = byId<"systemdUnit">(list, "storage/mount-ro");
      expect(ro.name).toBe("mnt-sprout\\x2dshared\\x2dro.mount");
      expect(ro.content).toContain("Where=/mnt/sprout-shared-ro\nType=glusterfs\nOptions=ro,_netdev,backup-volfile-servers=10.240.0.14:10.240.0.15\n");
    }
  });

  it("publishes dynamic classes always, and the storage nodes for the in-tree glusterfs plugin on 1.20 only", () => {
    const manifest = (kubernetesVersion: string, storage = true) => ({ cluster: { kubernetesVersion }, storage: storage ? { volume: "shared", replication: 2, capacityGiB: 10, servers: SERVERS, formsVolume: false, sharedPath: "/mnt/sprout-shared" } : undefined }) as NodeManifest;
    const kinds = (m: NodeManifest) => (renderSharedStorageObjects(m) as { kind: string }[]).map((o) => o.kind).filter((k) => !k.startsWith("Cluster"));
    expect(kinds(manifest("1.20.2"))).toEqual(["StorageClass", "StorageClass", "Service", "Endpoints"]);
    expect(kinds(manifest("1.31.0"))).toEqual(["StorageClass", "StorageClass"]);
    expect(kinds(manifest("1.20.2", false))).toEqual(["StorageClass", "StorageClass"]);
    const classes = (renderSharedStorageObjects(manifest("1.20.2")) as { kind: string; metadata: { name: string }; provisioner?: string; parameters?: object; allowVolumeExpansion?: boolean }[]).filter((o) => o.kind === "StorageClass");
    expect(classes.map((c) => [c.metadata.name, c.provisioner, c.parameters, c.allowVolumeExpansion])).toEqual([
      ["sprout-shared", "sprout.dev/glusterfs", undefined, true],
      ["sprout-reference", "sprout.dev/glusterfs", { readOnly: "true" }, true],
    ]);
  });

  it("nothing before any storage node joined, and nothing without a storage section", () => {
    expect(steps({ mountPath: "/mnt/sprout-shared", servers: [] })).toEqual([]);
    expect(storageSteps({} as NodeManifest)).toEqual([]);
  });

  it("names mount units as systemd-escape --path does", () => {
    expect(mountUnitName("/mnt/sprout-shared")).toBe("mnt-sprout\\x2dshared.mount");
    expect(mountUnitName("/srv/data.v2/")).toBe("srv-data.v2.mount");
    expect(mountUnitName("/srv/.hidden")).toBe("srv-.hidden.mount");
    expect(mountUnitName("/.hidden/a b")).toBe("\\x2ehidden-a\\x20b.mount");
    expect(mountUnitName("/")).toBe("-.mount");
  });
});
