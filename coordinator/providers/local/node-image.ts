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

/** A file of `image-build/`, found next to the sprout CLI (dist/sprout.cjs) or the sources. */
export function imageBuildFile(name: string): string {
  const here = dirname(resolve(process.argv[1] ?? "."));
  const candidates = [here, join(here, ".."), join(here, "..", ".."), join(here, "..", "..", "..")].map((d) => join(d, "image-build", name));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new UserError(`image-build/${name} not found next to the sprout CLI`);
  return found;
}

const buildScript = (): string => imageBuildFile("build-rootfs.sh");

/** `script`: the build script's path when the caller is not the CLI (tests run from the sources). */
/** `flavor`: `vanilla` builds the plain Debian image (no Kubernetes, no agent) instead of Sprout's. */
export async function ensureNodeImage(progress: (line: string) => void, script: string = buildScript(), flavor: "sprout" | "vanilla" = "sprout"): Promise<NodeImage> {
  const root = await new Promise<string>((resolvePath, reject) => {
    const child = spawn(script, [], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SPROUT_IMAGE_FLAVOR: flavor } });
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
