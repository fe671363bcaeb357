import { createHash } from "node:crypto";
import { z } from "zod";
import { describeError } from "../../shared/errors.js";
import { StepOutcome } from "../../shared/steps.js";
import type { Step } from "../../shared/steps.js";
import type { Host } from "../host/host.js";

/**
 * The node's record of what the executor applied and from which input. It is advisory — steps
 * compare the machine itself, never the journal — so a missing or damaged journal only costs
 * history, never correctness, and is replaced rather than fatal. It goes through the `Host`, so
 * a rootfs configured offline carries its own journal into the image.
 */

export const JOURNAL_PATH = "/var/lib/sprout/journal.json";
/** May hold hashes of steps that embed secrets (key files): readable by root only. */
const JOURNAL_MODE = 0o600;

export const JournalEntry = z.object({
  /** `stepHash` of the step as it was last run. */
  inputHash: z.string(),
  outcome: StepOutcome,
  /** When the desired state was last made or confirmed true for this input. */
  appliedAt: z.string(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;

const JournalFile = z.object({
  version: z.literal(1),
  steps: z.record(z.string(), JournalEntry),
});

/** JSON with object keys sorted at every level, so equal data always hashes equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** `sha256:<hex>` of the step's canonical JSON: changes whenever anything about the step does. */
export function stepHash(step: Step): string {
  return "sha256:" + createHash("sha256").update(canonicalJson(step)).digest("hex");
}

export class Journal {
  private constructor(
    private readonly host: Host,
    readonly path: string,
    private readonly steps: Record<string, JournalEntry>,
  ) {}

  /** Reads the journal; anything unreadable starts an empty one and is reported through `warn`. */
  static async load(host: Host, options: { path?: string; warn?: (message: string) => void } = {}): Promise<Journal> {
    const path = options.path ?? JOURNAL_PATH;
    const warn = options.warn ?? (() => {});
    let raw: Buffer | undefined;
    try {
      raw = await host.readFile(path);
    } catch (err) {
      warn(`cannot read the journal ${path} (${describeError(err)}); starting a new one`);
      return new Journal(host, path, {});
    }
    if (raw === undefined) return new Journal(host, path, {});
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      warn(`the journal ${path} is not valid JSON (${describeError(err)}); starting a new one`);
      return new Journal(host, path, {});
    }
    const result = JournalFile.safeParse(parsed);
    if (!result.success) {
      warn(`the journal ${path} has an unexpected shape (${result.error.issues[0]?.message ?? "invalid"}); starting a new one`);
      return new Journal(host, path, {});
    }
    return new Journal(host, path, result.data.steps);
  }

  get(id: string): JournalEntry | undefined {
    return this.steps[id];
  }

  /** All entries, including those of steps absent from the current plan (history is kept). */
  entries(): Readonly<Record<string, JournalEntry>> {
    return this.steps;
  }

  /**
   * Records a step that ended in the desired state. An `unchanged` step with the same input
   * keeps its earlier `appliedAt`: nothing was applied, the old application still stands.
   */
  record(step: Step, outcome: "changed" | "unchanged", at: Date): void {
    const inputHash = stepHash(step);
    const previous = this.steps[step.id];
    const keep = outcome === "unchanged" && previous !== undefined && previous.inputHash === inputHash;
    this.steps[step.id] = { inputHash, outcome, appliedAt: keep ? previous.appliedAt : at.toISOString() };
  }

  /** Writes the whole journal atomically (through the host's temp + rename). */
  async save(): Promise<void> {
    const body = JSON.stringify({ version: 1, steps: this.steps }, null, 2) + "\n";
    await this.host.writeFile(this.path, body, JOURNAL_MODE);
  }
}
