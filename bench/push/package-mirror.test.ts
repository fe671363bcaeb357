import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startPackageMirror, type PackageMirror } from "./package-mirror.js";

let dir: string;
let mirror: PackageMirror;
const PKG = randomBytes(2 * 1024 * 1024);
const RATE = 4 * 1024 * 1024; // 4 MiB/s for everyone together

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-mirror-"));
  await mkdir(join(dir, "pool/main/c/containerd"), { recursive: true });
  await writeFile(join(dir, "pool/main/c/containerd/containerd_1.6.20_amd64.deb"), PKG);
  await writeFile(join(tmpdir(), "sprout-mirror-secret.txt"), "not for the mirror\n");
  mirror = await startPackageMirror({ root: dir, bytesPerSecond: RATE });
});
afterAll(async () => {
  await mirror.close();
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), "sprout-mirror-secret.txt"), { force: true });
});

const get = async (path: string) => {
  const r = await request(`${mirror.url}${path}`);
  return { status: r.statusCode, body: Buffer.from(await r.body.arrayBuffer()) };
};
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("package mirror with a bandwidth cap", () => {
  it("serves a package intact, no faster than the cap", async () => {
    const t = performance.now();
    const r = await get("/pool/main/c/containerd/containerd_1.6.20_amd64.deb");
    const seconds = (performance.now() - t) / 1000;
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(sha(PKG));
    // 2 MiB at 4 MiB/s: half a second (the first chunk goes out at once).
    expect(seconds).toBeGreaterThan(0.4);
    expect(seconds).toBeLessThan(2);
  });

  it("shares the cap between downloads running at once, like one uplink", async () => {
    const t = performance.now();
    const all = await Promise.all([1, 2, 3].map(() => get("/pool/main/c/containerd/containerd_1.6.20_amd64.deb")));
    const seconds = (performance.now() - t) / 1000;
    expect(all.every((r) => r.status === 200 && r.body.length === PKG.length)).toBe(true);
    // 6 MiB through 4 MiB/s.
    expect(seconds).toBeGreaterThan(1.3);
  });

  it("answers 404 for what it does not have and 403 outside its root", async () => {
    expect((await get("/pool/main/n/nothing.deb")).status).toBe(404);
    expect((await get("/..%2Fsprout-mirror-secret.txt")).status).toBe(403);
    expect((await get("/pool")).status).toBe(404);
  });
});
