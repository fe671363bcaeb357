import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../shared/errors.js";
import type { AgentEvent } from "../../shared/events.js";
import { EventLog } from "./event-log.js";
import type { TokenRecord } from "./records.js";
import { StateStore } from "./store.js";
import { nodeRecord } from "./test-fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  secretHash: `sha256:${"0".repeat(64)}`,
  description: "",
  roles: ["service"],
  createdAt: 1,
  expiresAt: 2,
  maxUses: 3,
  usedBy: [],
  revoked: false,
  ...over,
});

describe("StateStore", () => {
  it("creates its layout and keeps records across a reopen", async () => {
    const store = await StateStore.open(dir);
    expect((await readdir(dir)).sort()).toEqual(["events", "nodes", "tokens"]);
    await store.putToken(token("aaaaaa", { createdAt: 5 }));
    await store.putToken(token("bbbbbb", { createdAt: 3, usedBy: ["n1"] }));
    await store.putNode(nodeRecord("n1"));
    await store.putNode(nodeRecord("n2", { joinedAt: 500 }));

    const again = await StateStore.open(dir);
    expect(again.getToken("bbbbbb")).toEqual(token("bbbbbb", { createdAt: 3, usedBy: ["n1"] }));
    expect(again.listTokens().map((t) => t.id)).toEqual(["bbbbbb", "aaaaaa"]); // by creation time
    expect(again.listNodes().map((n) => n.name)).toEqual(["n2", "n1"]); // by join time
    expect(again.getNode("n1")).toEqual(nodeRecord("n1"));
    expect(again.getNode("nope")).toBeUndefined();
    expect((await stat(join(dir, "nodes", "n1.json"))).mode & 0o777).toBe(0o600);
  });

  it("an update replaces the record on disk", async () => {
    const store = await StateStore.open(dir);
    await store.putNode(nodeRecord("n1"));
    await store.putNode(nodeRecord("n1", { manifestRevision: 4 }));
    expect((await StateStore.open(dir)).getNode("n1")!.manifestRevision).toBe(4);
    expect(await readdir(join(dir, "nodes"))).toEqual(["n1.json"]); // no temp files left behind
  });

  it("removes a leftover temp file of an interrupted write and still loads the records", async () => {
    const store = await StateStore.open(dir);
    await store.putToken(token("aaaaaa"));
    const leftover = join(dir, "tokens", ".aaaaaa.json.0123456789ab.tmp");
    await writeFile(leftover, '{"id": "aaaaaa", "secr'); // torn, as a crash would leave it
    await writeFile(join(dir, "tokens", ".x.tmp"), "");
    const again = await StateStore.open(dir);
    expect(again.getToken("aaaaaa")).toEqual(token("aaaaaa"));
    expect(await readdir(join(dir, "tokens"))).toEqual(["aaaaaa.json"]);
  });

  it("read-only: loads the records but leaves temp files alone (a running coordinator's write in flight)", async () => {
    const store = await StateStore.open(dir);
    await store.putToken(token("aaaaaa"));
    const inFlight = join(dir, "tokens", ".bbbbbb.json.0123456789ab.tmp");
    await writeFile(inFlight, JSON.stringify(token("bbbbbb")));
    const reader = await StateStore.open(dir, { readOnly: true });
    expect(reader.listTokens().map((t) => t.id)).toEqual(["aaaaaa"]);
    expect((await readdir(join(dir, "tokens"))).sort()).toEqual([".bbbbbb.json.0123456789ab.tmp", "aaaaaa.json"]);
  });

  it("refuses to open with a record that is not JSON, naming the file", async () => {
    const store = await StateStore.open(dir);
    await store.putToken(token("aaaaaa"));
    const bad = join(dir, "tokens", "bbbbbb.json");
    await writeFile(bad, "{not json");
    const err = await StateStore.open(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).where).toContain(bad);
    expect((err as ValidationError).message).toContain("malformed JSON");
  });

  it("refuses to open with a record that breaks its schema, naming the file and field", async () => {
    await StateStore.open(dir);
    const bad = join(dir, "nodes", "n1.json");
    await writeFile(bad, JSON.stringify({ ...nodeRecord("n1"), podCidrIndex: -1 }));
    const err = await StateStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain(bad);
    expect((err as ValidationError).problems.map((p) => p.path)).toEqual(["podCidrIndex"]);
  });

  it("hands out one EventLog per node", async () => {
    const store = await StateStore.open(dir);
    expect(store.eventLog("n1")).toBe(store.eventLog("n1"));
    expect(store.eventLog("n1").path).toBe(join(dir, "events", "n1.jsonl"));
  });
});

describe("EventLog", () => {
  let seqTs = 0;
  const ev = (runId: string, seq: number, stepId = `s${seq}`): AgentEvent => ({ type: "step.started", runId, seq, ts: 1000 + seqTs++, stepId });
  const path = () => join(dir, "events.jsonl");
  const lines = async () => (await readFile(path(), "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as AgentEvent);

  it("loads an absent file as empty", async () => {
    expect(await new EventLog(path()).load()).toEqual([]);
  });

  it("appends and reads back across instances", async () => {
    const log = new EventLog(path());
    const stored = await log.append([ev("r1", 0), ev("r1", 1)]);
    expect(stored.map((e) => e.seq)).toEqual([0, 1]);
    expect((await log.load()).map((e) => e.seq)).toEqual([0, 1]);
    expect((await new EventLog(path()).load()).map((e) => e.seq)).toEqual([0, 1]);
    expect((await stat(path())).mode & 0o777).toBe(0o600);
  });

  it("drops duplicates by (runId, seq), also after a reload", async () => {
    const log = new EventLog(path());
    await log.append([ev("r1", 0), ev("r1", 1), ev("r1", 2)]);
    // A resend after reconnect: two old, one new; another run's seq 0 is not a duplicate.
    const stored = await log.append([ev("r1", 1), ev("r1", 2), ev("r1", 3), ev("r2", 0)]);
    expect(stored.map((e) => [e.runId, e.seq])).toEqual([["r1", 3], ["r2", 0]]);
    expect(await log.append([ev("r1", 3)])).toEqual([]);

    const reloaded = new EventLog(path());
    expect(await reloaded.append([ev("r1", 0), ev("r2", 0), ev("r2", 1)])).toEqual([expect.objectContaining({ runId: "r2", seq: 1 })]);
    expect((await lines()).map((e) => `${e.runId}:${e.seq}`)).toEqual(["r1:0", "r1:1", "r1:2", "r1:3", "r2:0", "r2:1"]);
  });

  it("drops a seq repeated inside one batch", async () => {
    const log = new EventLog(path());
    const stored = await log.append([ev("r1", 0), ev("r1", 1), ev("r1", 1), ev("r1", 0)]);
    expect(stored.map((e) => e.seq)).toEqual([0, 1]);
    expect((await lines()).map((e) => e.seq)).toEqual([0, 1]);
  });

  it("cuts a torn last line (garbage without newline) on load, keeps the rest, and appends cleanly", async () => {
    await new EventLog(path()).append([ev("r1", 0), ev("r1", 1)]);
    const good = (await stat(path())).size;
    await appendFile(path(), "\u0000\u0000garb");
    const log = new EventLog(path());
    expect((await log.load()).map((e) => e.seq)).toEqual([0, 1]);
    expect((await stat(path())).size).toBe(good);
    await log.append([ev("r1", 2)]);
    expect((await lines()).map((e) => e.seq)).toEqual([0, 1, 2]);
    expect((await new EventLog(path()).load()).map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it("cuts half a JSON object left by a crash mid-append", async () => {
    await new EventLog(path()).append([ev("r1", 0)]);
    const half = JSON.stringify(ev("r1", 1));
    await appendFile(path(), half.slice(0, Math.floor(half.length / 2)));
    const log = new EventLog(path());
    expect((await log.load()).map((e) => e.seq)).toEqual([0]);
    // The agent resends seq 1: it was never acknowledged, so it must be stored now.
    expect((await log.append([ev("r1", 1), ev("r1", 2)])).map((e) => e.seq)).toEqual([1, 2]);
    expect((await new EventLog(path()).load()).map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it("cuts a last line whose newline never made it, so the next append is not glued onto it", async () => {
    await new EventLog(path()).append([ev("r1", 0)]);
    await appendFile(path(), JSON.stringify(ev("r1", 1))); // complete JSON, but the write was torn before "\n"
    const log = new EventLog(path());
    expect((await log.load()).map((e) => e.seq)).toEqual([0]);
    expect((await log.append([ev("r1", 1), ev("r1", 2)])).map((e) => e.seq)).toEqual([1, 2]);
    expect((await new EventLog(path()).load()).map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it("skips and counts a corrupt line in the middle, keeping the events after it", async () => {
    const text = `${JSON.stringify(ev("r1", 0))}\n{"bad":true}\nnot json\n${JSON.stringify(ev("r1", 5))}\n`;
    await writeFile(path(), text);
    const log = new EventLog(path());
    expect((await log.load()).map((e) => e.seq)).toEqual([0, 5]);
    expect(log.skippedLines).toBe(2);
    expect(await readFile(path(), "utf8")).toBe(text); // nothing cut: the file is no torn write
    // Dedup still sees seq 5, and appends go on after it.
    expect((await log.append([ev("r1", 5), ev("r1", 6)])).map((e) => e.seq)).toEqual([6]);
    expect((await new EventLog(path()).load()).map((e) => e.seq)).toEqual([0, 5, 6]);
  });

  it("cuts only a corrupt last line, counting it as the torn tail, not as skipped", async () => {
    const kept = `${JSON.stringify(ev("r1", 0))}\n{"bad":true}\n${JSON.stringify(ev("r1", 1))}\n`;
    await writeFile(path(), `${kept}{"torn":\n`);
    const log = new EventLog(path());
    expect((await log.load()).map((e) => e.seq)).toEqual([0, 1]);
    expect(log.skippedLines).toBe(1);
    expect(await readFile(path(), "utf8")).toBe(kept);
  });

  it("serializes concurrent loads and appends: nothing duplicated, nothing lost in memory", async () => {
    await new EventLog(path()).append([ev("r1", 0)]);
    const log = new EventLog(path());
    const batches = Array.from({ length: 10 }, (_, i) => [ev("r1", i), ev("r1", i + 1)]);
    const loading = log.load();
    const appends = batches.map((b) => log.append(b));
    const loadingAgain = log.load();
    const stored = await Promise.all(appends);
    expect(stored.flat().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Both loads share one in-memory list, which the appends extended.
    expect(await loading).toBe(await loadingAgain);
    expect((await log.load()).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await lines()).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
