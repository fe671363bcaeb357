import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Maps a node path ("/etc/kubernetes/kubelet.conf") to the real path of that file inside an
 * image rootfs, the way the kernel would resolve it inside `chroot <root>`.
 *
 * Two escapes are guarded against:
 *  - `..` in the *requested* path that climbs above `/` is a caller bug and is rejected;
 *  - symlinks *inside* the rootfs are followed within the root. A Debian rootfs is full of
 *    absolute links (`/etc/resolv.conf`, `*.wants/*` → `/lib/systemd/system/...`); resolving
 *    them on the build machine would read or overwrite the build machine's own files.
 */

/** Linux gives up after 40 links (ELOOP); so do we. */
const MAX_SYMLINK_HOPS = 40;

/** Splits an absolute node path into components, rejecting `..` that would leave `/`. */
export function splitNodePath(path: string, root: string): string[] {
  if (!path.startsWith("/")) throw new Error(`path must be absolute: ${JSON.stringify(path)}`);
  if (path.includes("\0")) throw new Error(`path contains a NUL byte: ${JSON.stringify(path)}`);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw new Error(`path ${path} escapes the root ${root}`);
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts;
}

/**
 * Resolves `path` under `root`, following symlinks with chroot semantics (absolute targets
 * restart at the root, `..` stops at the root). With `followLast: false` the final component
 * is left alone, which is what rename-over, unlink and symlink creation need.
 * Components that do not exist yet are appended literally (nothing left to follow).
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  let pending = splitNodePath(path, root);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop(); // at the root this is a no-op, exactly like `cd ..` in a chroot at `/`
      continue;
    }
    const isLast = pending.length === 0;
    const real = join(root, ...resolved, part);
    const link = isLast && !followLast ? undefined : await readLinkIfSymlink(real);
    if (link === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw new Error(`too many levels of symbolic links resolving ${path} in ${root}`);
    const target = link.split("/").filter((p) => p !== "");
    if (link.startsWith("/")) resolved.length = 0; // absolute link: restart at the root, not at the host's `/`
    pending = [...target, ...pending];
  }
  return join(root, ...resolved);
}

/** The link text when `real` is a symlink; `undefined` when it is anything else or missing. */
async function readLinkIfSymlink(real: string): Promise<string | undefined> {
  try {
    const st = await lstat(real);
    return st.isSymbolicLink() ? await readlink(real) : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** ENOENT or ENOTDIR: the path (or one of its parents) does not exist as asked. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
