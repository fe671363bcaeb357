import { open, mkdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { must } from "./machine-process.js";
import type { ClusterSpec } from "../../../shared/cluster-spec.js";
import { UserError } from "../../../shared/errors.js";

/**
 * A node machine's attached block devices, as a cloud attaches a volume: a sparse file in the
 * node's state directory, attached to a host loop device, and shown inside the machine under
 * its own name (`/dev/vdb`) — the machine's /dev holds only what it is given. The files are named
 * `sprout.<cluster>.<node>.<disk>.img`, so their loop devices are found again by name after a
 * crash of the caller and detached by `sprout down`.
 */
export interface MachineDisk {
  /** The device name inside the machine, as on a cloud VM: `vdb`, `vdc`, … */
  name: string;
  sizeGiB: number;
}

export interface AttachedDisk {
  name: string;
  loop: string;
  major: number;
  minor: number;
}

const DISK_NAME = /^vd[b-z]$/;

function diskFile(stateDir: string, cluster: string, node: string, disk: string): string {
  return join(stateDir, "disks", `sprout.${cluster}.${node}.${disk}.img`);
}

/** Creates (sparse, once) and attaches each disk; an already attached file keeps its loop device. */
export async function attachDisks(cluster: string, node: string, stateDir: string, disks: MachineDisk[]): Promise<AttachedDisk[]> {
  const out: AttachedDisk[] = [];
  for (const d of disks) {
    if (!DISK_NAME.test(d.name)) throw new Error(`invalid disk name ${JSON.stringify(d.name)} (vdb … vdz)`);
    const file = diskFile(stateDir, cluster, node, d.name);
    await mkdir(join(stateDir, "disks"), { recursive: true });
    // Never shrinks a disk that holds data; grows it when the spec asks for more.
    const f = await open(file, "a");
    try {
      if ((await f.stat()).size < d.sizeGiB * 1024 ** 3) await f.truncate(d.sizeGiB * 1024 ** 3);
    } finally {
      await f.close();
    }
    const loop = (await loopsOf((back) => back === file))[0] ?? (await must("losetup", ["--find", "--show", file])).trim();
    const rdev = (await stat(loop)).rdev;
    // Linux dev_t: major in bits 8–19, minor in bits 0–7 and 20–31.
    out.push({ name: d.name, loop, major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
  }
  return out;
}

/** Detaches the loop devices of a node's disks (every node of the cluster without `node`); idempotent. */
export async function detachDisks(cluster: string, node?: string): Promise<void> {
  const prefix = node ? `sprout.${cluster}.${node}.` : `sprout.${cluster}.`;
  for (const loop of await loopsOf((back) => basename(back).startsWith(prefix) && back.endsWith(".img"))) {
    await must("losetup", ["-d", loop]);
  }
}

/** The machine-side description handed to sprout-init, which creates the device nodes. */
export function disksEnv(disks: AttachedDisk[]): string {
  return disks.map((d) => `${d.name} ${d.major} ${d.minor}`).join("\n");
}

async function loopsOf(match: (backingFile: string) => boolean): Promise<string[]> {
  const out = await must("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]);
  const loops: string[] = [];
  for (const line of out.split("\n")) {
    const [name, ...rest] = line.trim().split(/\s+/);
    const back = rest.join(" ").replace(/ \(deleted\)$/, "");
    if (name && back && match(back)) loops.push(name);
  }
  return loops;
}

/**
 * A storage node's volume, attached as a cloud would: the device `storage.device` names, backed
 * by a sparse file of `storage.volumeSizeGiB` in the node's state directory.
 */
export function storageDisksFor(spec: ClusterSpec): MachineDisk[] {
  const device = spec.storage.device;
  if (device === "none") return [];
  const name = /^\/dev\/(vd[b-z])$/.exec(device)?.[1];
  if (!name) throw new UserError(`storage.device ${device}: the local provider attaches storage volumes as /dev/vdb … /dev/vdz (or use none for a brick on the root filesystem)`);
  return [{ name, sizeGiB: spec.storage.volumeSizeGiB }];
}
