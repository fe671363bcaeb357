import { lstat, mkdir, readFile, readdir, readlink, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isMissing, resolveInRoot } from "./rooted-path.js";

/**
 * `systemctl enable/disable` for an image rootfs that is not running: the same `*.wants/`
 * symlinks systemd would create, derived from the unit's `[Install]` section. This is what
 * `systemctl --root=` does, without needing systemctl (or the image's systemd version) on the
 * build machine.
 */

/** Where unit files are looked up, highest precedence first (as in systemd's unit search path). */
const UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];
const LINK_DIR = "/etc/systemd/system";
/** Brief's choice: a unit without `WantedBy=` is hooked into the normal boot target. */
const DEFAULT_TARGET = "multi-user.target";

export interface InstallInfo {
  /** Path of the unit file as seen on the node, e.g. `/lib/systemd/system/containerd.service`. */
  unitPath: string;
  /** `<target>.wants` / `<target>.requires` directories the unit is linked into when enabled. */
  linkDirs: string[];
}

/**
 * Reads `WantedBy=` and `RequiredBy=` from the `[Install]` section. Values are space separated
 * and accumulate over lines; an empty assignment resets the list (systemd's list semantics).
 */
export function parseInstallSection(text: string): { wantedBy: string[]; requiredBy: string[] } {
  const lists = { wantedBy: [] as string[], requiredBy: [] as string[] };
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      section = line;
      continue;
    }
    if (section !== "[Install]") continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const list = key === "WantedBy" ? lists.wantedBy : key === "RequiredBy" ? lists.requiredBy : undefined;
    if (!list) continue;
    const values = line.slice(eq + 1).trim().split(/\s+/).filter(Boolean);
    if (values.length === 0) list.length = 0;
    else list.push(...values);
  }
  return lists;
}

/** Finds the unit file (or, for `name@instance.service`, its template) and where it links. */
export async function findInstallInfo(root: string, name: string): Promise<InstallInfo | undefined> {
  const candidates = [name];
  const template = name.match(/^([^@]+@)[^@]+(\.[a-z]+)$/);
  if (template) candidates.push(`${template[1]}${template[2]}`);
  for (const file of candidates) {
    for (const dir of UNIT_DIRS) {
      const unitPath = `${dir}/${file}`;
      const text = await readIfExists(await resolveInRoot(root, unitPath));
      if (text === undefined) continue;
      const { wantedBy, requiredBy } = parseInstallSection(text);
      const linkDirs = [
        ...wantedBy.map((t) => `${LINK_DIR}/${t}.wants`),
        ...requiredBy.map((t) => `${LINK_DIR}/${t}.requires`),
      ];
      if (linkDirs.length === 0) linkDirs.push(`${LINK_DIR}/${DEFAULT_TARGET}.wants`);
      return { unitPath, linkDirs };
    }
  }
  return undefined;
}

/** Enabled = linked into at least one of the directories its `[Install]` section names. */
export async function isEnabledOffline(root: string, name: string): Promise<boolean> {
  const info = await findInstallInfo(root, name);
  if (!info) return false;
  for (const dir of info.linkDirs) {
    if (await existsNoFollow(join(await resolveInRoot(root, dir), name))) return true;
  }
  return false;
}

export async function enableOffline(root: string, name: string): Promise<void> {
  const info = await findInstallInfo(root, name);
  if (!info) throw new Error(`unit ${name} not found in ${UNIT_DIRS.join(", ")} of rootfs ${root}`);
  for (const dir of info.linkDirs) {
    const realDir = await resolveInRoot(root, dir);
    await mkdir(realDir, { recursive: true, mode: 0o755 });
    const link = join(realDir, name);
    // The link target is a node path: it must make sense when the image boots, not here.
    const current = await readLinkIfAny(link);
    if (current === info.unitPath) continue;
    if (current !== undefined || (await existsNoFollow(link))) await unlink(link);
    await symlink(info.unitPath, link);
  }
}

/**
 * Removes every link named after the unit from `/etc/systemd/system/*.wants|*.requires`, not
 * only the ones its current `[Install]` names: a unit file whose `WantedBy=` changed since it
 * was enabled would otherwise stay enabled through the old link.
 */
export async function disableOffline(root: string, name: string): Promise<void> {
  const linkDir = await resolveInRoot(root, LINK_DIR);
  let entries: string[];
  try {
    entries = await readdir(linkDir);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.endsWith(".wants") && !entry.endsWith(".requires")) continue;
    const link = join(linkDir, entry, name);
    if (await existsNoFollow(link)) await unlink(link);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function existsNoFollow(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

async function readLinkIfAny(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (err) {
    // EINVAL: it exists but is not a symlink (a stray file); the caller replaces it.
    const code = (err as NodeJS.ErrnoException).code;
    if (isMissing(err) || code === "EINVAL") return undefined;
    throw err;
  }
}
