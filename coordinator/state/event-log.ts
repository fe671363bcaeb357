import { open, readFile, truncate } from "node:fs/promises";
import { AgentEvent } from "../../shared/events.js";

/**
 * Append-only JSON-lines log of one node's agent events. An append is acknowledged to the agent
 * only after fsync, so a crash can at most leave a torn last line of events nobody acknowledged;
 * loading repairs that by cutting the file back to its last complete line, and the agent resends.
 */
export class EventLog {
  private events: AgentEvent[] | undefined;
  /** Highest stored seq per agent run, for dropping events resent after a reconnect. */
  private lastSeq = new Map<string, number>();

  constructor(readonly path: string) {}

  async load(): Promise<AgentEvent[]> {
    if (this.events) return this.events;
    const text = await readFile(this.path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    const events: AgentEvent[] = [];
    let goodBytes = 0;
    let offset = 0;
    for (const line of text.split("\n")) {
      const end = offset + Buffer.byteLength(line) + 1;
      if (line.trim() === "") {
        offset = end;
        continue;
      }
      const parsed = safeParse(line);
      if (!parsed) break; // torn tail from a crash mid-append
      events.push(parsed);
      goodBytes = Math.min(end, Buffer.byteLength(text));
      offset = end;
    }
    if (goodBytes < Buffer.byteLength(text)) await truncate(this.path, goodBytes);
    for (const e of events) this.lastSeq.set(e.runId, Math.max(this.lastSeq.get(e.runId) ?? -1, e.seq));
    this.events = events;
    return events;
  }

  /** Appends the events not stored yet; returns the highest stored seq per run among them. */
  async append(batch: AgentEvent[]): Promise<AgentEvent[]> {
    await this.load();
    const fresh = batch.filter((e) => e.seq > (this.lastSeq.get(e.runId) ?? -1));
    if (fresh.length === 0) return [];
    const fh = await open(this.path, "a", 0o600);
    try {
      await fh.writeFile(fresh.map((e) => JSON.stringify(e)).join("\n") + "\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    for (const e of fresh) {
      this.events!.push(e);
      this.lastSeq.set(e.runId, Math.max(this.lastSeq.get(e.runId) ?? -1, e.seq));
    }
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
