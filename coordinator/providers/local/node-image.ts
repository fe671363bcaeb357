import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../../../shared/errors.js";

/**
 * The local provider's node image: built (or found in the cache) by image-build/build-rootfs.sh,
 * whose progress is passed through line by line.
 */
export interface NodeImage {
  root: string;
  version: string;
}

function buildScript(): string {
  const here = dirname(resolve(process.argv[1] ?? "."));
  const candidates = [join(here, "..", "image-build", "build-rootfs.sh"), join(here, "..", "..", "image-build", "build-rootfs.sh"), join(here, "..", "..", "..", "image-build", "build-rootfs.sh")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new UserError("image-build/build-rootfs.sh not found next to the sprout CLI");
  return found;
}

/** `script`: the build script's path when the caller is not the CLI (tests run from the sources). */
export async function ensureNodeImage(progress: (line: string) => void, script: string = buildScript()): Promise<NodeImage> {
  const root = await new Promise<string>((resolvePath, reject) => {
    const child = spawn(script, [], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let partial = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => {
      const lines = (partial + String(d)).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) if (l.trim()) progress(l);
    });
    child.once("exit", (code) => (code === 0 ? resolvePath(stdout.trim().split("\n").pop()!) : reject(new Error(`building the node image failed (build-rootfs.sh exited ${code}); see the lines above`))));
  });
  const version = (await readFile(join(root, "etc/sprout/image-version"), "utf8")).trim();
  return { root, version };
}
