import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import { parseJsonWith } from "../../shared/validate.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { EventLog } from "./event-log.js";
import { NodeRecord, TokenRecord } from "./records.js";

/**
 * The coordinator's durable state inside `<deployment>/.sprout/`:
 *
 *   tokens/<id>.json     one file per token (secret hashed), mode 0600
 *   nodes/<name>.json    one file per joined node
 *   events/<name>.jsonl  the node's agent events (its timeline)
 *
 * One file per record keeps every write small and atomic (temp + fsync + rename), so a
 * coordinator killed at any instant restarts with each record either before or after its last
 * change. Records live in memory too; the disk is read only at open.
 */
export class StateStore {
  private tokens = new Map<string, TokenRecord>();
  private nodes = new Map<string, NodeRecord>();
  private logs = new Map<string, EventLog>();
  readonly lock = new KeyedMutex();

  private constructor(
    readonly dir: string,
    private readonly readOnly: boolean,
  ) {}

  /**
   * `readOnly`: for readers that do not hold the state lock (`sprout kubeconfig`). They must not
   * clean up `.tmp` files: one may be a running coordinator's write in flight, about to be renamed.
   */
  static async open(stateDir: string, options: { readOnly?: boolean } = {}): Promise<StateStore> {
    const store = new StateStore(stateDir, options.readOnly ?? false);
    for (const sub of ["tokens", "nodes", "events"]) await mkdir(join(stateDir, sub), { recursive: true, mode: 0o700 });
    await store.loadAll("tokens", TokenRecord, store.tokens, (r) => r.id);
    await store.loadAll("nodes", NodeRecord, store.nodes, (r) => r.name);
    return store;
  }

  private async loadAll<S extends z.ZodType>(sub: string, schema: S, into: Map<string, z.infer<S>>, key: (r: z.infer<S>) => string) {
    const dir = join(this.dir, sub);
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      // Leftovers of a write interrupted before its rename: the record itself is intact.
      if (name.startsWith(".") && name.endsWith(".tmp")) {
        if (!this.readOnly) await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(".json")) continue;
      const record = parseJsonWith(schema, await readFile(path, "utf8"), `state file ${path}`);
      into.set(key(record), record);
    }
  }

  getToken(id: string): TokenRecord | undefined {
    return this.tokens.get(id);
  }
  listTokens(): TokenRecord[] {
    return [...this.tokens.values()].sort((a, b) => a.createdAt - b.createdAt);
  }
  async putToken(record: TokenRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, "tokens", `${record.id}.json`), JSON.stringify(record, null, 2), 0o600);
    this.tokens.set(record.id, record);
  }

  getNode(name: string): NodeRecord | undefined {
    return this.nodes.get(name);
  }
  listNodes(): NodeRecord[] {
    return [...this.nodes.values()].sort((a, b) => a.joinedAt - b.joinedAt || a.name.localeCompare(b.name));
  }
  async putNode(record: NodeRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, "nodes", `${record.name}.json`), JSON.stringify(record, null, 2), 0o600);
    this.nodes.set(record.name, record);
  }

  eventLog(nodeName: string): EventLog {
    let log = this.logs.get(nodeName);
    if (!log) {
      log = new EventLog(join(this.dir, "events", `${nodeName}.jsonl`));
      this.logs.set(nodeName, log);
    }
    return log;
  }
}
