import { readFile, readdir, rmdir, mkdir, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * Per-node cgroups for node machines: `<hierarchy>/sprout/<cluster>/<node>` in every cgroup
 * hierarchy the host has mounted (each v1 controller, the named `systemd` hierarchy, and the
 * cgroup2 `unified` one on hybrid hosts). The launcher moves itself into all of them before it
 * creates the machine's cgroup namespace, so the node's systemd and kubelet see their own subtree
 * as `/` and everything they create stays under it. Found again by name after a crash.
 */

export const CGROUP_ROOT_NAME = "sprout";

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** /proc/self/mountinfo, with the octal escapes (`\040`) in paths undone. */
export async function readMountinfo(): Promise<MountEntry[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const [left, right = ""] = line.split(" - ");
      const f = left!.split(" ");
      const [fsType = "", source = "", superOptions = ""] = right.split(" ");
      return { mountPoint: unescape(f[4] ?? ""), fsType, source: unescape(source), superOptions };
    });
}

/** The host's cgroup hierarchies: one mount point each (the first one found under /sys/fs/cgroup). */
export async function cgroupHierarchies(): Promise<string[]> {
  const seen = new Map<string, string>();
  for (const m of await readMountinfo()) {
    if (m.fsType !== "cgroup" && m.fsType !== "cgroup2") continue;
    if (!m.mountPoint.startsWith("/sys/fs/cgroup")) continue;
    // The hierarchy is identified by its controllers (v1) or by being cgroup2.
    const key = m.fsType === "cgroup2" ? "cgroup2" : m.superOptions.split(",").filter((o) => o !== "rw" && o !== "ro").sort().join(",");
    if (!seen.has(key)) seen.set(key, m.mountPoint);
  }
  return [...seen.values()];
}

export function nodeCgroupPath(hierarchy: string, cluster: string, node: string): string {
  return join(hierarchy, CGROUP_ROOT_NAME, cluster, node);
}

/**
 * Creates the node's cgroup in every hierarchy; returns the paths. cpuset cgroups need
 * `cpuset.cpus` and `cpuset.mems` before a task may join, copied down from the parent.
 */
export async function createNodeCgroups(cluster: string, node: string): Promise<string[]> {
  const paths: string[] = [];
  for (const h of await cgroupHierarchies()) paths.push(await createPath(h, [CGROUP_ROOT_NAME, cluster, node]));
  return paths;
}

async function createPath(hierarchy: string, parts: string[], attempt = 0): Promise<string> {
  let dir = hierarchy;
  for (const part of parts) {
    const parent = dir;
    dir = join(dir, part);
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the last node of the cluster removed a parent just now (see removeNodeCgroups).
      if (code === "ENOENT" && attempt < 3) return createPath(hierarchy, parts, attempt + 1);
      if (code !== "EEXIST") throw new Error(`cannot create cgroup ${dir}`, { cause: err });
    }
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const mine = await readFile(join(dir, f), "utf8").catch(() => undefined);
      if (mine === undefined || mine.trim() !== "") continue;
      const inherited = (await readFile(join(parent, f), "utf8")).trim();
      await writeFile(join(dir, f), inherited);
    }
  }
  return dir;
}

/** Every cgroup directory of a subtree, deepest first. */
async function subtree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) out.push(...(await subtree(join(dir, e.name))));
  out.push(dir);
  return out;
}

/** The pids in the node's cgroups, in every hierarchy and every sub-cgroup. */
export async function nodeCgroupPids(cluster: string, node: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const h of await cgroupHierarchies()) {
    for (const dir of await subtree(nodeCgroupPath(h, cluster, node))) {
      const text = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
      for (const l of text.split("\n")) if (l.trim() !== "") pids.add(Number(l));
    }
  }
  return [...pids];
}

/**
 * Removes the node's cgroups (sub-cgroups first) in every hierarchy, then the cluster's and the
 * `sprout` parent if they became empty. Cgroups still holding tasks are retried briefly: a
 * killed task leaves its cgroup only once it has exited.
 */
export async function removeNodeCgroups(cluster: string, node: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of await cgroupHierarchies()) {
    for (const dir of await subtree(nodeCgroupPath(h, cluster, node))) {
      for (;;) {
        try {
          await rmdir(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          if (code === "EBUSY" && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          throw new Error(`cannot remove cgroup ${dir}`, { cause: err });
        }
      }
    }
    for (const dir of [join(h, CGROUP_ROOT_NAME, cluster), join(h, CGROUP_ROOT_NAME)]) {
      await rmdir(dir).catch(() => undefined); // still used by other nodes or clusters
    }
  }
}

/** `{cluster, node}` for every node cgroup on the host (of one cluster if given). */
export async function listNodeCgroups(cluster?: string): Promise<{ cluster: string; node: string }[]> {
  const found = new Map<string, { cluster: string; node: string }>();
  for (const h of await cgroupHierarchies()) {
    const base = join(h, CGROUP_ROOT_NAME);
    const clusters = cluster ? [cluster] : await readdir(base).catch(() => []);
    for (const c of clusters) {
      const dir = join(base, c);
      if (!(await stat(dir).then((s) => s.isDirectory()).catch(() => false))) continue;
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) found.set(`${c}/${e.name}`, { cluster: c, node: e.name });
      }
    }
  }
  return [...found.values()];
}
