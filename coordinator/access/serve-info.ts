import { readFile, rm } from "node:fs/promises";
import { z } from "zod";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import type { DeploymentPaths } from "../deployment.js";

/** `.sprout/coordinator.json`: how the CLI finds a running coordinator for this deployment. */
export const ServeInfo = z.object({ url: z.string(), pid: z.number().int(), caPin: z.string(), startedAt: z.number() });
export type ServeInfo = z.infer<typeof ServeInfo>;

export async function writeServeInfo(paths: DeploymentPaths, info: ServeInfo): Promise<void> {
  await writeFileAtomic(paths.serveInfo, JSON.stringify(info, null, 2), 0o600);
}

export async function removeServeInfo(paths: DeploymentPaths): Promise<void> {
  await rm(paths.serveInfo, { force: true });
}

/** The running coordinator, or undefined when none is (file missing, or its process is gone). */
export async function readServeInfo(paths: DeploymentPaths): Promise<ServeInfo | undefined> {
  const text = await readFile(paths.serveInfo, "utf8").catch(() => undefined);
  if (!text) return undefined;
  // A corrupt file names no coordinator we could reach: treat it like a missing one, and the
  // caller opens the state under the lock (which a live coordinator would hold, refusing us).
  const parsed = ServeInfo.safeParse(parseJsonOrUndefined(text));
  if (!parsed.success) return undefined;
  try {
    process.kill(parsed.data.pid, 0);
    return parsed.data;
  } catch {
    return undefined;
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
