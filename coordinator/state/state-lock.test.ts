import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../shared/errors.js";
import { acquireStateLock } from "./state-lock.js";

let dir: string;
let lock: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-lock-"));
  lock = join(dir, "coordinator.lock");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that was just alive and is not any more. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;

async function ageBy(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

describe("acquireStateLock", () => {
  it("takes a free lock with our pid in it, leaves no temp file, and releases it", async () => {
    const release = await acquireStateLock(lock);
    expect(await readFile(lock, "utf8")).toBe(`${process.pid}\n`);
    expect(await readdir(dir)).toEqual(["coordinator.lock"]);
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a lock held by a live process, naming its pid", async () => {
    await writeFile(lock, `${process.ppid}\n`);
    await expect(acquireStateLock(lock)).rejects.toThrow(new UserError(`another coordinator (pid ${process.ppid}) is using this deployment directory (lock ${lock})`));
    expect(await readFile(lock, "utf8")).toBe(`${process.ppid}\n`);
  });

  it("takes over a lock whose owner died, leaving nothing of the old one", async () => {
    await writeFile(lock, `${deadPid()}\n`);
    await acquireStateLock(lock);
    expect(await readFile(lock, "utf8")).toBe(`${process.pid}\n`);
    expect(await readdir(dir)).toEqual(["coordinator.lock"]);
  });

  it("clears a takeover lock left by a taker that died halfway, then takes over", async () => {
    await writeFile(lock, `${deadPid()}\n`);
    await writeFile(`${lock}.takeover`, `${deadPid()}\n`);
    await acquireStateLock(lock);
    expect(await readFile(lock, "utf8")).toBe(`${process.pid}\n`);
    expect(await readdir(dir)).toEqual(["coordinator.lock"]);
  });

  it("treats an empty or unparsable lock as being created by a live process, unless older than 10 s", async () => {
    for (const content of ["", "garbage\n"]) {
      await writeFile(lock, content);
      await expect(acquireStateLock(lock)).rejects.toThrow(/another process \(its lock is still being written\)/);
      expect(await readFile(lock, "utf8")).toBe(content);
      await ageBy(lock, 11_000);
      const release = await acquireStateLock(lock);
      expect(await readFile(lock, "utf8")).toBe(`${process.pid}\n`);
      await release();
    }
  });

  it("lets exactly one of several processes take over the same stale lock", async () => {
    const go = join(dir, "go");
    const script = join(dir, "contender.mts");
    await writeFile(
      script,
      `import { existsSync } from "node:fs";
import { acquireStateLock } from ${JSON.stringify(resolve("coordinator/state/state-lock.ts"))};
process.stdout.write("ready\\n");
while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 2));
try {
  await acquireStateLock(${JSON.stringify(lock)});
  process.stdout.write("won\\n");
  await new Promise((r) => setTimeout(r, 1000)); // hold it while the others try
} catch (err) {
  process.stdout.write(err.name === "UserError" ? "refused\\n" : "error " + err.message + "\\n");
}
`,
    );
    for (let round = 0; round < 2; round++) {
      await writeFile(lock, `${deadPid()}\n`);
      await rm(go, { force: true });
      const contenders = Array.from({ length: 5 }, () => {
        const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: resolve("."), stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        const ready = new Promise<void>((ok) => child.stdout.on("data", () => out.includes("ready") && ok()));
        const done = new Promise<string>((ok) => child.on("exit", () => ok(out.replace("ready\n", "").trim())));
        return { ready, done };
      });
      await Promise.all(contenders.map((c) => c.ready));
      await writeFile(go, "");
      const results = await Promise.all(contenders.map((c) => c.done));
      expect(results.filter((r) => r === "won"), results.join(", ")).toHaveLength(1);
      expect(results.filter((r) => r === "refused")).toHaveLength(4);
    }
  }, 60_000);
});
