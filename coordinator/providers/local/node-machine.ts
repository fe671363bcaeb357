import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { createNodeCgroups, listNodeCgroups, nodeCgroupPids, readMountinfo, removeNodeCgroups } from "./machine-cgroups.js";
import { attachDisks, detachDisks, disksEnv, type MachineDisk } from "./machine-disks.js";
import { raiseHostLimits } from "./host-limits.js";
import { alive, must, processState, readText, runCommand, signal, sleep, type ExecResult } from "./machine-process.js";

export type { ExecResult } from "./machine-process.js";

/**
 * Node machines for the local provider: a Debian rootfs booted with systemd as PID 1 in its own
 * namespaces, like kind's nodes on Docker (see "Real parts in tests" in the design notes).
 *
 * - Root: a copy-on-write overlay of the cached image rootfs (`image-build/build-rootfs.sh`);
 *   writes go to `<stateDir>/upper`, so the node keeps its identity across restarts.
 * - Cgroups: `/sys/fs/cgroup/<hierarchy>/sprout/<cluster>/<node>` in every host hierarchy; the
 *   machine's cgroup namespace is rooted there (see machine-cgroups.ts).
 * - Namespaces: the launcher enters the node's network namespace (made by node-network.ts), then
 *   `unshare --mount --uts --ipc --pid --cgroup --fork`; inside, the root is bind-mounted onto
 *   itself and `pivot_root`ed, /proc mounted, the old root lazily unmounted, and the image's
 *   `/usr/local/sbin/sprout-init` mounts the API filesystems and execs systemd.
 * - `/var/lib/containerd` is a bind mount of `<stateDir>/containerd`: containerd's overlayfs
 *   snapshotter cannot use an overlayfs upper directory. `/dev/console` is `<stateDir>/console.log`.
 *
 * Everything is found again by name (`sprout.<cluster>.<node>` is the overlay's mount source, the
 * cgroups are named after the node), so stop and cleanup work after a crash of the caller.
 */

export interface MachineSpec {
  cluster: string;
  node: string;
  /** The image rootfs (lowerdir), as printed by image-build/build-rootfs.sh. */
  imageRoot: string;
  /** Per-node state: upper/work dirs, the merged root, containerd's data, console log. */
  stateDir: string;
  /** The node's network namespace (`ip netns` name, e.g. `sprout.<cluster>.<node>`). */
  netns: string;
  /** The node's address, written to its /etc/hosts next to its name. */
  address?: string;
  /** How long to wait for systemd to take over as PID 1 (default 15 s). */
  startTimeoutMs?: number;
  /** Block devices attached to the machine (`/dev/vdb`, …), backed by sparse files in stateDir. */
  disks?: MachineDisk[];
  /** Written into the root before boot, as cloud-init would (the agent's bootstrap file). */
  files?: { path: string; content: string; mode: number }[];
  /** Says what the machine changed on the host (a raised kernel limit). */
  log?: (line: string) => void;
}

export interface StopOptions {
  /** Ask systemd to power off first (default true); SIGKILL after `timeoutMs` (default 10 s). */
  graceful?: boolean;
  timeoutMs?: number;
}

export interface NodeMachine {
  cluster: string;
  node: string;
  /** Host pid of the machine's PID 1 (systemd). */
  pid: number;
  /** The merged root as seen from the host. */
  rootPath: string;
  stateDir: string;
  /**
   * Runs argv inside the machine (all its namespaces, its root, a clean environment), to
   * completion. The process is not in the machine's cgroups: run `systemd-run` inside for that.
   */
  exec(argv: string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Starts argv inside the machine and returns the process (for listeners and long runs). */
  spawn(argv: string[]): ChildProcess;
  /** Polls `systemctl is-system-running` until it settles; returns `running`, `degraded`, … */
  waitForBoot(timeoutMs?: number): Promise<string>;
  /** Stops the machine, unmounts its root and removes its cgroups; keeps stateDir. */
  stop(options?: StopOptions): Promise<void>;
}

export interface MachineRef {
  cluster: string;
  node: string;
  /** Without it, stop finds the overlay by its mount source only. */
  stateDir?: string;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const INIT = "/usr/local/sbin/sprout-init";
const MACHINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** systemd powers off on SIGRTMIN+4 (glibc's SIGRTMIN is 34 on Linux). */
const SIGRTMIN_PLUS_4 = 38;

/** The overlay's mount source: how a machine's root is found after a crash. */
export function machineMountSource(cluster: string, node: string): string {
  return `sprout.${cluster}.${node}`;
}

/**
 * Runs first, in the launcher's process: joins the node's cgroups, enters its network namespace
 * and creates the others. `--kill-child`: the machine dies with its launcher.
 */
const LAUNCH = `set -e
printf '%s\\n' "$SPROUT_CGROUPS" | while IFS= read -r cg; do echo $$ >"$cg/cgroup.procs"; done
exec nsenter --net="/run/netns/$SPROUT_NETNS" -- unshare --mount --uts --ipc --pid --cgroup --fork --kill-child -- sh -c "$SPROUT_STAGE2"`;

/** Runs as PID 1 of the new namespaces, with the host's root still visible. */
const STAGE2 = `set -e
hostname "$SPROUT_HOSTNAME"
mount --make-rprivate /
mount --bind "$SPROUT_ROOT" "$SPROUT_ROOT"
mkdir -p "$SPROUT_ROOT/var/lib/containerd"
mount --bind "$SPROUT_STATE/containerd" "$SPROUT_ROOT/var/lib/containerd"
[ -e "$SPROUT_ROOT/dev/console" ] || touch "$SPROUT_ROOT/dev/console"
mount --bind "$SPROUT_STATE/console.log" "$SPROUT_ROOT/dev/console"
cd "$SPROUT_ROOT"
mkdir -p run/.oldroot
pivot_root . run/.oldroot
cd /
mount -t proc -o rw,nosuid,nodev,noexec proc /proc
umount -l -n /run/.oldroot
rmdir /run/.oldroot
exec ${INIT}`;

function checkNames(cluster: string, node: string): void {
  for (const [what, v] of [["cluster", cluster], ["node", node]] as const) {
    if (!LABEL.test(v)) throw new Error(`invalid ${what} name ${JSON.stringify(v)}: must be a DNS label`);
  }
}

/** The machine's PID 1: the process in the node's cgroups that is pid 1 of its own namespace. */
async function findInit(cluster: string, node: string): Promise<number | undefined> {
  for (const pid of await nodeCgroupPids(cluster, node)) {
    const status = await readText(`/proc/${pid}/status`);
    const nspid = status?.match(/^NSpid:\s+(.*)$/m)?.[1]?.trim().split(/\s+/);
    if (nspid && nspid.length === 2 && nspid[1] === "1") return pid;
  }
  return undefined;
}

function machineArgs(pid: number, argv: string[]): string[] {
  return ["-t", String(pid), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--", "/usr/bin/env", "-i", `PATH=${MACHINE_PATH}`, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", ...argv];
}

function handle(spec: MachineSpec, pid: number, rootPath: string): NodeMachine {
  const { cluster, node, stateDir } = spec;
  const machine: NodeMachine = {
    cluster,
    node,
    pid,
    rootPath,
    stateDir,
    exec: (argv, options) => runCommand("nsenter", machineArgs(pid, argv), options?.timeoutMs),
    spawn: (argv) => spawn("nsenter", machineArgs(pid, argv), { stdio: ["ignore", "pipe", "pipe"] }),
    async waitForBoot(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let state = "";
      for (;;) {
        const r = await machine.exec(["systemctl", "is-system-running"], { timeoutMs: 10_000 });
        state = r.stdout.trim() || r.stderr.trim();
        if (["running", "degraded", "maintenance", "stopping"].includes(state)) return state;
        if (!(await alive(pid))) throw new Error(`node machine ${node} stopped while booting: ${await consoleTail(stateDir)}`);
        if (Date.now() > deadline) throw new Error(`node machine ${node} did not finish booting in ${timeoutMs} ms (systemd: ${state || "no answer"})`);
        await sleep(250);
      }
    },
    stop: (options) => stopMachine({ cluster, node, stateDir }, options),
  };
  return machine;
}

async function consoleTail(stateDir: string): Promise<string> {
  const text = (await readText(join(stateDir, "console.log"))) ?? "";
  return text.split("\n").slice(-15).join("\n").trim() || "(console log empty)";
}

/** Mounts the node's copy-on-write root at `<stateDir>/merged` (idempotent). */
async function mountRoot(spec: MachineSpec): Promise<string> {
  const { cluster, node, stateDir, imageRoot } = spec;
  const merged = join(stateDir, "merged");
  for (const d of ["upper", "work", "merged", "containerd"]) await mkdir(join(stateDir, d), { recursive: true });
  const source = machineMountSource(cluster, node);
  const mounts = await readMountinfo();
  if (mounts.some((m) => m.source === source && m.mountPoint === merged)) return merged;
  // A node's upper layer only makes sense on the image it was created from.
  const version = (await readText(join(imageRoot, "etc/sprout/image-version")))?.trim();
  if (!version) throw new Error(`${imageRoot} is not a node image rootfs (no etc/sprout/image-version); build one with image-build/build-rootfs.sh`);
  const recorded = (await readText(join(stateDir, "image-version")))?.trim();
  if (recorded && recorded !== version) {
    throw new Error(`node ${node}'s state in ${stateDir} was created from image ${recorded}, not ${version}; remove the node (cleanupMachine with removeState) to start it from the new image`);
  }
  await writeFile(join(stateDir, "image-version"), `${version}\n`);
  await must("mount", ["-t", "overlay", source, "-o", `lowerdir=${imageRoot},upperdir=${join(stateDir, "upper")},workdir=${join(stateDir, "work")}`, merged]);
  return merged;
}

/** Hostname, hosts and a machine-id of its own (kept across restarts, as on a real machine). */
async function writeIdentity(root: string, spec: MachineSpec): Promise<void> {
  await writeFile(join(root, "etc/hostname"), `${spec.node}\n`);
  const hosts = ["127.0.0.1\tlocalhost", "::1\t\tlocalhost ip6-localhost ip6-loopback"];
  if (spec.address) hosts.push(`${spec.address}\t${spec.node}`);
  await writeFile(join(root, "etc/hosts"), `${hosts.join("\n")}\n`);
  const id = ((await readText(join(root, "etc/machine-id"))) ?? "").trim();
  if (!/^[0-9a-f]{32}$/.test(id)) await writeFile(join(root, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
  for (const f of spec.files ?? []) {
    if (!f.path.startsWith("/") || f.path.split("/").includes("..")) throw new Error(`machine file path must be absolute and plain: ${f.path}`);
    await writeFileAtomic(join(root, f.path), f.content, f.mode);
  }
}

/**
 * Boots a node machine and returns once systemd runs as its PID 1 (use `waitForBoot` for the
 * boot itself). Refuses to start a machine that is already running.
 */
export async function startMachine(spec: MachineSpec): Promise<NodeMachine> {
  const { cluster, node, stateDir, netns } = spec;
  checkNames(cluster, node);
  if (!(await stat(`/run/netns/${netns}`).catch(() => undefined))) throw new Error(`network namespace ${netns} does not exist`);
  if ((await nodeCgroupPids(cluster, node)).length > 0) throw new Error(`node machine ${node} of cluster ${cluster} is already running`);
  await raiseHostLimits(spec.log);
  await mkdir(stateDir, { recursive: true });
  const rootPath = await mountRoot(spec);
  let launcher: ChildProcess | undefined;
  try {
    await writeIdentity(rootPath, spec);
    const disks = await attachDisks(cluster, node, stateDir, spec.disks ?? []);
    const cgroups = await createNodeCgroups(cluster, node);
    const console = await open(join(stateDir, "console.log"), "a");
    try {
      launcher = spawn("sh", ["-c", LAUNCH], {
        detached: true, // the machine outlives the CLI that started it
        stdio: ["ignore", console.fd, console.fd],
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          SPROUT_CGROUPS: cgroups.join("\n"),
          SPROUT_DISKS: disksEnv(disks),
          SPROUT_NETNS: netns,
          SPROUT_STAGE2: STAGE2,
          SPROUT_HOSTNAME: node,
          SPROUT_ROOT: rootPath,
          SPROUT_STATE: stateDir,
        },
      });
    } finally {
      await console.close();
    }
    launcher.unref();
    const deadline = Date.now() + (spec.startTimeoutMs ?? 15_000);
    for (;;) {
      const pid = await findInit(cluster, node);
      if (pid !== undefined && (await readText(`/proc/${pid}/comm`))?.trim() === "systemd") {
        await writeFile(join(stateDir, "machine.json"), `${JSON.stringify({ cluster, node, pid, launcherPid: launcher.pid, netns, address: spec.address, imageRoot: spec.imageRoot, disks: spec.disks ?? [], startedAt: new Date().toISOString() })}\n`);
        return handle(spec, pid, rootPath);
      }
      if (launcher.exitCode !== null || launcher.signalCode !== null) {
        throw new Error(`node machine ${node} failed to start (launcher exited ${launcher.exitCode ?? launcher.signalCode}): ${await consoleTail(stateDir)}`);
      }
      if (Date.now() > deadline) throw new Error(`node machine ${node}: systemd did not start within ${spec.startTimeoutMs ?? 15_000} ms: ${await consoleTail(stateDir)}`);
      await sleep(50);
    }
  } catch (err) {
    await stopMachine({ cluster, node, stateDir }, { graceful: false }).catch(() => undefined);
    throw err;
  }
}

/** The running machine, if any (after a restart of the caller). */
export async function findMachine(spec: MachineSpec): Promise<NodeMachine | undefined> {
  checkNames(spec.cluster, spec.node);
  const pid = await findInit(spec.cluster, spec.node);
  return pid === undefined ? undefined : handle(spec, pid, join(spec.stateDir, "merged"));
}

/**
 * Stops a machine and removes what it holds on the host: its processes, its root overlay and its
 * cgroups. Idempotent, and works from names alone after a crash; stateDir is kept.
 */
export async function stopMachine(ref: MachineRef, options: StopOptions = {}): Promise<void> {
  const { cluster, node } = ref;
  checkNames(cluster, node);
  const init = await findInit(cluster, node);
  if (init !== undefined && options.graceful !== false) {
    signal(init, SIGRTMIN_PLUS_4);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while ((await alive(init)) && Date.now() < deadline) await sleep(50);
  }
  // Killing PID 1 of the machine's pid namespace kills everything inside it. The launcher
  // (`unshare`) reaps it and exits; killing the launcher first would leave PID 1 a zombie until
  // the host's init reaps it. Anything else left in the cgroups is killed after.
  if (init !== undefined) {
    signal(init, "SIGKILL");
    const deadline = Date.now() + 2_000;
    while ((await alive(init)) && Date.now() < deadline) await sleep(20);
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = await nodeCgroupPids(cluster, node);
    if (pids.length === 0) break;
    const live = [];
    for (const pid of pids) if ((await processState(pid)) !== "Z") live.push(pid);
    if (Date.now() > deadline) throw new Error(`node machine ${node}: processes ${pids.join(", ")} are still in its cgroups after SIGKILL`);
    for (const pid of live) signal(pid, "SIGKILL");
    await sleep(live.length > 0 ? 20 : 100); // zombies leave once their parent reaps them
  }
  await unmountRoot(ref);
  await removeNodeCgroups(cluster, node);
  // A powered-off machine's volumes stay on the host (the files) but are detached.
  await detachDisks(cluster, node);
}

async function unmountRoot(ref: MachineRef): Promise<void> {
  const source = machineMountSource(ref.cluster, ref.node);
  const merged = ref.stateDir ? join(ref.stateDir, "merged") : undefined;
  // Deepest first, in case something was mounted below the root on the host side.
  const targets = (await readMountinfo())
    .filter((m) => m.source === source || (merged !== undefined && m.mountPoint.startsWith(`${merged}/`)))
    .map((m) => m.mountPoint)
    .sort((a, b) => b.length - a.length);
  for (const t of targets) {
    const r = await runCommand("umount", [t]);
    if (r.code !== 0) await must("umount", ["-l", t]);
  }
}

/** stopMachine, and with `removeState` also the node's state directory (its upper layer). */
export async function cleanupMachine(ref: MachineRef & { removeState?: boolean }, options: StopOptions = { graceful: false }): Promise<void> {
  await stopMachine(ref, options);
  if (ref.removeState && ref.stateDir) await rm(ref.stateDir, { recursive: true, force: true });
}

/** Machines that exist on this host, by name: cgroups and root overlays (of one cluster if given). */
export async function listMachines(cluster?: string): Promise<{ cluster: string; node: string }[]> {
  const found = new Map<string, { cluster: string; node: string }>();
  for (const m of await listNodeCgroups(cluster)) found.set(`${m.cluster}.${m.node}`, m);
  for (const m of await readMountinfo()) {
    const match = m.fsType === "overlay" ? /^sprout\.([a-z0-9-]+)\.([a-z0-9-]+)$/.exec(m.source) : null;
    if (match && (!cluster || match[1] === cluster)) found.set(`${match[1]}.${match[2]}`, { cluster: match[1]!, node: match[2]! });
  }
  return [...found.values()];
}

/** Stops every machine of a cluster (after a crash: `sprout down`); idempotent. */
export async function cleanupCluster(cluster: string): Promise<void> {
  for (const m of await listMachines(cluster)) await stopMachine(m, { graceful: false });
  await detachDisks(cluster);
}
