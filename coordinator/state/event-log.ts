import { open, readFile, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDir } from "../../shared/atomic-file.js";
import { AgentEvent } from "../../shared/events.js";

/**
 * Append-only JSON-lines log of one node's agent events. An append is acknowledged to the agent
 * only after fsync, so a crash can at most leave a torn last line of events nobody acknowledged;
 * loading repairs that by cutting the file back to its last complete line, and the agent resends.
 * A bad line with good ones after it is no torn tail (bit rot, a hand edit): it is skipped and
 * counted, and the acknowledged events after it are kept.
 */
export class EventLog {
  private events: AgentEvent[] | undefined;
  /** The one load in flight or done: concurrent callers share it instead of racing on the file. */
  private loading: Promise<AgentEvent[]> | undefined;
  /** Appends run one at a time, so the dedup check and the write cannot interleave. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Highest stored seq per agent run, for dropping events resent after a reconnect. */
  private lastSeq = new Map<string, number>();
  /** Whether the file exists on disk (known after load); its first append also syncs the directory. */
  private onDisk = false;
  /** Unparseable lines in the middle of the file that the last load skipped. */
  skippedLines = 0;

  constructor(readonly path: string) {}

  load(): Promise<AgentEvent[]> {
    if (this.events) return Promise.resolve(this.events);
    this.loading ??= this.readAndRepair().catch((err: unknown) => {
      this.loading = undefined; // let a later call try again (e.g. after a transient EIO)
      throw err;
    });
    return this.loading;
  }

  private async readAndRepair(): Promise<AgentEvent[]> {
    let exists = true;
    const text = await readFile(this.path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
      exists = false;
      return "";
    });
    this.onDisk = exists;
    const events: AgentEvent[] = [];
    let goodBytes = 0;
    let offset = 0;
    // Bad lines since the last good one: skipped if a good line follows, else the torn tail.
    let badSinceGood = 0;
    let skipped = 0;
    const lines = text.split("\n");
    // Every append ends with "\n", so whatever follows the last newline is a torn write — even
    // when it happens to parse — and must go: the next append would otherwise be glued onto it.
    lines.pop();
    for (const line of lines) {
      const end = offset + Buffer.byteLength(line) + 1;
      if (line.trim() === "") {
        offset = end;
        continue;
      }
      const parsed = safeParse(line);
      offset = end;
      if (!parsed) {
        badSinceGood++;
        continue;
      }
      events.push(parsed);
      goodBytes = end;
      skipped += badSinceGood;
      badSinceGood = 0;
    }
    // Only what follows the last good line is cut: there is no readable event beyond it.
    if (goodBytes < Buffer.byteLength(text)) await truncate(this.path, goodBytes);
    this.skippedLines = skipped;
    for (const e of events) this.lastSeq.set(e.runId, Math.max(this.lastSeq.get(e.runId) ?? -1, e.seq));
    this.events = events;
    return events;
  }

  /** Appends the events not stored yet (by runId and seq); returns those it stored. */
  append(batch: AgentEvent[]): Promise<AgentEvent[]> {
    const run = this.tail.then(() => this.appendNow(batch));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(batch: AgentEvent[]): Promise<AgentEvent[]> {
    const events = await this.load();
    // Walk the batch in order with a running high-water mark, so a seq repeated inside one
    // batch is dropped just like one repeated across batches.
    const seen = new Map(this.lastSeq);
    const fresh = batch.filter((e) => {
      if (e.seq <= (seen.get(e.runId) ?? -1)) return false;
      seen.set(e.runId, e.seq);
      return true;
    });
    if (fresh.length === 0) return [];
    const fh = await open(this.path, "a", 0o600);
    try {
      const before = (await fh.stat()).size;
      try {
        await fh.writeFile(fresh.map((e) => JSON.stringify(e)).join("\n") + "\n");
        await fh.sync();
        // A new file's directory entry must be durable too, or a power loss can take the whole
        // file, with the events we are about to acknowledge.
        if (!this.onDisk) await fsyncDir(dirname(this.path));
      } catch (err) {
        // Nothing of this batch is acknowledged; drop any part that did land, so the resent
        // batch is not glued onto a torn line.
        await fh.truncate(before).catch(() => undefined);
        throw err;
      }
    } finally {
      await fh.close();
    }
    this.onDisk = true;
    events.push(...fresh);
    this.lastSeq = seen;
    return fresh;
  }
}

function safeParse(line: string): AgentEvent | undefined {
  try {
    const r = AgentEvent.safeParse(JSON.parse(line));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
