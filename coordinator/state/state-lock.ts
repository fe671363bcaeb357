import { randomBytes } from "node:crypto";
import { link, open, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UserError } from "../../shared/errors.js";

/** An empty or unreadable lock younger than this is taken to be mid-create by a live process. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/**
 * One coordinator per deployment directory. The lock file holds the owner's pid; a lock left
 * by a killed coordinator (pid no longer alive) is taken over, which is what makes
 * "kill -9 then restart" work without manual cleanup.
 *
 * The lock is created with its content in one step (pid written to a temp file, then `link`ed
 * to the lock path, which fails if the path exists), so a fresh lock is never seen empty. Taking
 * over a stale lock is serialized by a second lock, `<lock>.takeover`: only its holder may remove
 * the stale lock, after checking again that it is still stale. Removing by name after a check
 * is otherwise a race: two processes that both saw the stale lock could each remove the other's
 * new one, and both win.
 */
export async function acquireStateLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await createLock(path)) {
      return async () => {
        await rm(path, { force: true });
      };
    }
    const lock = await inspectLock(path);
    if (!lock) continue; // released (or taken over) meanwhile: try again
    if (!isStale(lock)) throw heldBy(lock, path);
    const held = await removeIfStillStale(path);
    if (held) throw heldBy(held, path);
  }
  throw new Error(`could not take the state lock ${path}`);
}

/** Publishes a lock holding our pid, complete, or returns false when one exists. */
async function createLock(path: string): Promise<boolean> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

interface LockInfo {
  /** undefined: the file is empty or not a pid. */
  pid: number | undefined;
  ageMs: number;
}

async function inspectLock(path: string): Promise<LockInfo | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const pid = Number(text.trim());
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, ageMs: Date.now() - st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Our own pid counts as stale: a lock left by an earlier process that had our pid (a container's pid 1). */
function isStale(lock: LockInfo): boolean {
  if (lock.pid === undefined) return lock.ageMs > EMPTY_LOCK_GRACE_MS;
  return lock.pid === process.pid || !isAlive(lock.pid);
}

/**
 * Under `<lock>.takeover`, removes the lock if it is still stale; returns it if it is not (the
 * process that took it over first made it live again). Non-takers only ever `link`, which cannot
 * replace a lock, so the lock cannot change between our check and the removal.
 */
async function removeIfStillStale(path: string): Promise<LockInfo | undefined> {
  const takeover = `${path}.takeover`;
  if (!(await createLock(takeover))) {
    // Another process is taking over. Its takeover lock lives for milliseconds; one that is old
    // or whose pid is gone was left by a taker that died halfway.
    const other = await inspectLock(takeover);
    if (other && (other.ageMs > EMPTY_LOCK_GRACE_MS || (other.pid !== undefined && !isAlive(other.pid)))) await rm(takeover, { force: true });
    await sleep(20);
    return undefined;
  }
  try {
    const lock = await inspectLock(path);
    if (!lock) return undefined; // an earlier taker removed it; its new owner may be linking now
    if (!isStale(lock)) return lock;
    await rm(path, { force: true });
    return undefined;
  } finally {
    await rm(takeover, { force: true });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function heldBy(lock: LockInfo, path: string): UserError {
  const who = lock.pid === undefined ? "another process (its lock is still being written)" : `another coordinator (pid ${lock.pid})`;
  return new UserError(`${who} is using this deployment directory (lock ${path})`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
