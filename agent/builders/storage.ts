import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { BARRIER, STORAGE_STEP } from "../../shared/barrier-names.js";
import { minorOf } from "../../shared/versions.js";
import { renderUnit } from "./systemd-unit.js";

/**
 * The cluster's shared POSIX storage, a GlusterFS volume:
 * - storage nodes format their attached volume (only if empty), mount it, and run glusterd with a
 *   brick directory on it;
 * - the first storage node waits until every storage node reported its glusterd, then forms the
 *   volume (and grows it when more storage nodes join) — a barrier, not an order;
 * - service nodes wait until the volume exists and mount it.
 * The Kubernetes side (PersistentVolumes, a StorageClass) is applied on the master
 * (control-plane/shared-storage-objects.ts).
 */
const GLUSTERD_STEP = STORAGE_STEP.glusterd;
const VOLUME_STEP = STORAGE_STEP.volume;
const BRICK_MOUNT_UNIT = "sprout-brick-mount.service";

export function storageSteps(m: NodeManifest): StepInput[] {
  const s = m.storage;
  if (!s) return [];
  return [...brickSteps(s), ...volumeSteps(s), ...clientSteps(s, m.cluster.kubernetesVersion)];
}

type Storage = NonNullable<NodeManifest["storage"]>;

function brickSteps(s: Storage): StepInput[] {
  const brick = s.brick;
  if (!brick) return [];
  const steps: StepInput[] = [];
  if (brick.device) {
    steps.push(
      { id: "storage/filesystem", kind: "filesystem", description: `XFS on ${brick.device} (only if the device is empty)`, device: brick.device, fsType: "xfs", label: "sprout-brick", deadlineSeconds: 600 },
      {
        id: "storage/brick-mount",
        kind: "systemdUnit",
        description: `mount ${brick.device} at ${brick.mountPath}`,
        dependsOn: ["storage/filesystem"],
        name: BRICK_MOUNT_UNIT,
        content: brickMountUnit(brick.device, brick.mountPath),
      },
    );
  }
  steps.push(
    { id: "storage/brick-dir", kind: "directory", description: `brick directory ${brick.dir}`, path: brick.dir, mode: 0o755, dependsOn: brick.device ? ["storage/brick-mount"] : [] },
    {
      // glusterd must not start its brick processes at boot before the brick's volume is mounted.
      id: "storage/glusterd-dropin",
      kind: "file",
      description: "glusterd starts after the brick volume is mounted",
      path: "/etc/systemd/system/glusterd.service.d/sprout-brick.conf",
      content: brick.device ? `[Unit]\nRequires=${BRICK_MOUNT_UNIT}\nAfter=${BRICK_MOUNT_UNIT}\n` : "[Unit]\n",
      mode: 0o644,
    },
    {
      id: GLUSTERD_STEP,
      kind: "systemdUnit",
      description: "glusterd (GlusterFS management daemon)",
      dependsOn: ["storage/brick-dir", "storage/glusterd-dropin"],
      name: "glusterd.service",
      restartOnChangeOf: ["storage/glusterd-dropin"],
    },
  );
  return steps;
}

function volumeSteps(s: Storage): StepInput[] {
  if (!s.formsVolume || !s.brick) return [];
  // Whole replica sets only: a storage node that joined alone waits for its set to be complete.
  const complete = s.servers.length - (s.servers.length % s.replication);
  const bricks = s.servers.slice(0, complete).map((srv) => `${srv.address}:${s.brick!.dir}`);
  if (bricks.length === 0) return [];
  return [
    {
      id: "storage/wait-bricks",
      kind: "waitFor",
      description: "every storage node runs glusterd with its brick",
      dependsOn: [GLUSTERD_STEP],
      condition: { type: "barrier", name: BARRIER.storageNodesReported },
      deadlineSeconds: 1800,
    },
    {
      id: VOLUME_STEP,
      kind: "glusterVolume",
      description: `GlusterFS volume ${s.volume} (${bricks.length} bricks, replica ${s.replication})`,
      dependsOn: ["storage/wait-bricks"],
      name: s.volume,
      replication: s.replication,
      bricks,
      deadlineSeconds: 600,
    },
  ];
}

function clientSteps(s: Storage, kubernetesVersion: string): StepInput[] {
  if (!s.mountPath || s.servers.length === 0) return [];
  const { what, options } = volumeMountSource(s);
  return [
    {
      id: "storage/wait-volume",
      kind: "waitFor",
      description: `GlusterFS volume ${s.volume} exists`,
      condition: { type: "barrier", name: BARRIER.storageVolumeReady },
      deadlineSeconds: 1800,
    },
    {
      id: "storage/mount",
      kind: "systemdUnit",
      description: `mount the shared volume at ${s.mountPath}`,
      dependsOn: ["storage/wait-volume"],
      name: mountUnitName(s.mountPath),
      content: mountUnitFile({ description: `Sprout: the shared GlusterFS volume ${s.volume}`, what, where: s.mountPath, type: "glusterfs", options, wantedBy: "remote-fs.target" }),
      deadlineSeconds: 300,
    },
    // Without the in-tree glusterfs plugin (1.26+), the reference PersistentVolume is a hostPath of
    // a read-only mount: the kernel, not the pod spec, keeps reference data unchanged.
    ...(inTreeGlusterfs(kubernetesVersion)
      ? []
      : [
          {
            id: "storage/mount-ro",
            kind: "systemdUnit" as const,
            description: `mount the shared volume read-only at ${s.mountPath}-ro`,
            dependsOn: ["storage/wait-volume"],
            name: mountUnitName(`${s.mountPath}-ro`),
            content: mountUnitFile({ description: `Sprout: the shared GlusterFS volume ${s.volume}, read-only`, what, where: `${s.mountPath}-ro`, type: "glusterfs", options: `ro,${options}`, wantedBy: "remote-fs.target" }),
            deadlineSeconds: 300,
          },
        ]),
  ];
}

/** What a node mounts to reach the whole volume, and the mount options that keep it reachable. */
export function volumeMountSource(s: Storage): { what: string; options: string } {
  const [first, ...backups] = s.servers.map((srv) => srv.address);
  // Any server hands out the volume's layout; the others are fallbacks when the first is down.
  const options = ["_netdev", backups.length > 0 ? `backup-volfile-servers=${backups.join(":")}` : undefined].filter(Boolean).join(",");
  return { what: `${first}:/${s.volume}`, options };
}

/** Kubernetes up to 1.25 mounts GlusterFS volumes itself (the in-tree plugin was removed in 1.26). */
export function inTreeGlusterfs(kubernetesVersion: string): boolean {
  const [major, minor] = minorOf(kubernetesVersion).split(".").map(Number) as [number, number];
  return major === 1 && minor < 26;
}

/** systemd's name for the mount unit of a path (`systemd-escape --path --suffix=mount`). */
export function mountUnitName(path: string): string {
  const parts = path.split("/").filter(Boolean);
  if (parts.length === 0) return "-.mount";
  // `/` separates into `-`; anything but [A-Za-z0-9:_.] becomes \xNN, and so does a leading `.`.
  const escaped = [...parts.join("/")]
    .map((ch, i) => (ch === "/" ? "-" : /[A-Za-z0-9:_]/.test(ch) || (ch === "." && i > 0) ? ch : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`))
    .join("");
  return `${escaped}.mount`;
}

/**
 * The brick's volume mounted by a oneshot service rather than a `.mount` unit: a mount unit for a
 * device waits for systemd's device unit, which only udev announces — and machines without udev
 * (containers, the local provider's node machines) would wait forever.
 */
function brickMountUnit(device: string, where: string): string {
  return renderUnit({
    description: `Sprout: mount the GlusterFS brick's volume ${device} at ${where}`,
    unit: [["DefaultDependencies", "no"]],
    after: ["local-fs-pre.target"],
    before: ["local-fs.target"],
    service: [
      ["Type", "oneshot"],
      ["RemainAfterExit", "yes"],
    ],
    execStartPre: [["/bin/mkdir", "-p", where]],
    execStart: [["/bin/sh", "-c", `mountpoint -q ${where} || exec mount -o noatime,inode64 ${device} ${where}`]],
    execStop: [["/bin/umount", where]],
    wantedBy: "local-fs.target",
  });
}

export function mountUnitFile(u: { description: string; what: string; where: string; type: string; options: string; wantedBy: string }): string {
  return [
    "# Written by sprout-agent from the node manifest; local edits are replaced.",
    "[Unit]",
    `Description=${u.description}`,
    "",
    "[Mount]",
    `What=${u.what}`,
    `Where=${u.where}`,
    `Type=${u.type}`,
    `Options=${u.options}`,
    "",
    "[Install]",
    `WantedBy=${u.wantedBy}`,
    "",
  ].join("\n");
}
