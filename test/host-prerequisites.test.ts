import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * scripts/host-packages.txt is the one list of what the host needs, and scripts/setup installs
 * it. A green run on a machine where someone installed a tool by hand proves nothing about a
 * fresh one, so this test looks at what the code starts on the host (the TypeScript that runs
 * there: the CLI, the coordinator's providers, the tests and the benchmarks) and fails for a
 * command that neither the list nor Debian's required base provides. Shell scripts ask for their
 * packages by name through scripts/lib/host-packages.sh, which refuses names the list lacks.
 */
const REPO = resolve(import.meta.dirname, "..");
const LIST = join(REPO, "scripts/host-packages.txt");

interface Entry {
  pkg: string;
  provides: string[];
}

function listed(): Entry[] {
  return readFileSync(LIST, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.trimStart().startsWith("#"))
    .map((l) => {
      const [pkg, provides] = l.trim().split(/\s+/) as [string, string];
      return { pkg, provides: provides.split(",") };
    });
}

const sh = (script: string, ...args: string[]) => {
  try {
    return execFileSync("sh", ["-c", script, "sh", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
};

/** A command name or absolute path, as the host would run it; undefined if it is not there. */
function resolveCommand(cmd: string): string | undefined {
  const path = cmd.startsWith("/") ? (existsSync(cmd) ? cmd : "") : sh('command -v "$1"', cmd);
  return path ? realpathSync(path) : undefined;
}

/** The Debian package owning a file, and whether it is part of every Debian system. */
function owner(file: string): { pkg?: string; base: boolean } {
  const pkg = sh('dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1', file) || sh('dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1', file.replace(/^\/usr\//, "/"));
  if (!pkg) return { base: false };
  const priority = sh('dpkg-query -W -f "\\${Priority}" "$1"', pkg);
  return { pkg, base: priority === "required" || priority === "important" };
}

/** Sources that run on the host (the agent's own code runs in the node image, but its tests run here). */
function hostSources(): string[] {
  return execFileSync("git", ["-C", REPO, "ls-files", "coordinator", "test", "bench", "scripts", "shared", "agent/**/*.test.ts"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => f.endsWith(".ts"));
}

/** Commands the code starts on the host, found by the shapes it starts them in, with one file each. */
function hostCommands(): Map<string, string> {
  const found = new Map<string, string>();
  const shapes = [
    // spawn("ip", …), execFileSync("kubectl", …), runCommand("nsenter", …), a promisified run("ip", …)
    /\b(?:spawn|spawnSync|execFile|execFileSync|runCommand|must|run|exec)\(\s*"([^"\s]+)"\s*,/g,
    // ip netns exec <ns> <command>: a host binary run inside a network namespace
    /"netns",\s*"exec",\s*[^,\]]+,\s*"([^"\s]+)"/g,
  ];
  for (const file of hostSources()) {
    const text = readFileSync(join(REPO, file), "utf8");
    for (const shape of shapes) for (const m of text.matchAll(shape)) if (!found.has(m[1]!)) found.set(m[1]!, file);
  }
  return found;
}

describe("host prerequisites", () => {
  const entries = listed();

  it("the list names each package once, with what shows it is installed", () => {
    expect(entries.length).toBeGreaterThan(10);
    expect(new Set(entries.map((e) => e.pkg)).size).toBe(entries.length);
    for (const e of entries) expect(e.provides[0], e.pkg).toMatch(/^(\/[\w./+-]+|[\w.+-]+)$/);
  });

  it("every listed package is installed here (scripts/setup ran before the suite)", () => {
    const missing = entries.filter((e) => resolveCommand(e.provides[0]!) === undefined).map((e) => `${e.pkg} (${e.provides[0]})`);
    expect(missing).toEqual([]);
  });

  it("every command the host code starts comes from a listed package or Debian's required base", () => {
    const provided = new Set(entries.flatMap((e) => e.provides));
    const packages = new Set(entries.map((e) => e.pkg));
    const unlisted: string[] = [];
    const commands = hostCommands();
    for (const [cmd, file] of commands) {
      if (provided.has(cmd)) continue;
      const path = resolveCommand(cmd);
      if (!path) continue; // not a program on this machine: a name the code passes to its own functions
      if (path === realpathSync(process.execPath)) continue; // the Node.js running Sprout itself
      const { pkg, base } = owner(path);
      if (base || (pkg && packages.has(pkg))) continue;
      unlisted.push(`${cmd} (${path}, package ${pkg ?? "none"}) started in ${file}`);
    }
    // The shapes must find what is known to be there, or the check above would pass on nothing.
    for (const known of ["ip", "nsenter", "kubectl", "ssh-keygen", "openssl", "losetup"]) expect([...commands.keys()]).toContain(known);
    expect(unlisted, `add these to ${LIST}`).toEqual([]);
  });
});
