import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fsyncDir } from "../../shared/atomic-file.js";
import { EventLog } from "./event-log.js";

// Spy on the directory fsync (it still runs): whether it happens is what these tests are about.
vi.mock("../../shared/atomic-file.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../shared/atomic-file.js")>();
  return { ...actual, fsyncDir: vi.fn(actual.fsyncDir) };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-event-log-"));
  vi.mocked(fsyncDir).mockClear();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ev = (seq: number) => ({ type: "step.started" as const, runId: "r1", seq, ts: 1000 + seq, stepId: `s${seq}` });

describe("EventLog durability", () => {
  it("fsyncs the directory when its first append creates the file, and only then", async () => {
    const log = new EventLog(join(dir, "n1.jsonl"));
    await log.append([ev(0)]);
    expect(vi.mocked(fsyncDir).mock.calls).toEqual([[dir]]);
    await log.append([ev(1)]);
    await new EventLog(join(dir, "n1.jsonl")).append([ev(2)]); // exists already: its entry is durable
    expect(vi.mocked(fsyncDir)).toHaveBeenCalledTimes(1);
  });

  it("does not acknowledge a new file whose directory fsync failed, and leaves no half of it", async () => {
    vi.mocked(fsyncDir).mockRejectedValueOnce(new Error("EIO"));
    const log = new EventLog(join(dir, "n1.jsonl"));
    await expect(log.append([ev(0)])).rejects.toThrow("EIO");
    // The resend is stored once, and this time the directory is synced.
    expect((await log.append([ev(0)])).map((e) => e.seq)).toEqual([0]);
    expect(vi.mocked(fsyncDir)).toHaveBeenCalledTimes(2);
    expect((await new EventLog(join(dir, "n1.jsonl")).load()).map((e) => e.seq)).toEqual([0]);
  });
});
