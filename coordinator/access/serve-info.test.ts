import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploymentPaths, type DeploymentPaths } from "../deployment.js";
import { readServeInfo, writeServeInfo } from "./serve-info.js";

let dir: string;
let paths: DeploymentPaths;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-serve-info-"));
  paths = { ...deploymentPaths(dir), serveInfo: join(dir, "coordinator.json") };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readServeInfo", () => {
  const info = { url: "https://127.0.0.1:7443", pid: process.pid, caPin: "sha256:00", startedAt: 1 };

  it("returns the info of a live coordinator, and nothing when the file is missing", async () => {
    expect(await readServeInfo(paths)).toBeUndefined();
    await writeServeInfo(paths, info);
    expect(await readServeInfo(paths)).toEqual(info);
  });

  it("treats a corrupt coordinator.json as no running coordinator instead of throwing", async () => {
    await writeFile(paths.serveInfo, '{"url": "https://127.0.0.1:74');
    expect(await readServeInfo(paths)).toBeUndefined();
    await writeFile(paths.serveInfo, JSON.stringify({ ...info, pid: "x" }));
    expect(await readServeInfo(paths)).toBeUndefined();
  });
});
