import { open, readFile, rm } from "node:fs/promises";
import { UserError } from "../../shared/errors.js";

/**
 * One coordinator per deployment directory. The lock file holds the owner's pid; a lock left
 * by a killed coordinator (pid no longer alive) is taken over, which is what makes
 * "kill -9 then restart" work without manual cleanup.
 */
export async function acquireStateLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx", 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new UserError(`another coordinator (pid ${owner}) is using this deployment directory (lock ${path})`);
      }
      await rm(path, { force: true }); // stale: its owner died
    }
  }
  throw new Error(`could not take the state lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
