import type { Host } from "../../host/host.js";
import type { StepKind, StepOf, StepOutcome } from "../../../shared/steps.js";
import type { CertProfileName, SignResponse } from "../../../shared/cert-profiles.js";

/**
 * What every step kind implements. `check` is read-only and answers "already in the desired
 * state?"; `apply` changes only what differs. The executor runs check → apply → check again, so
 * an apply that silently did nothing is caught instead of reported as a change.
 */
export interface StepKindImpl<K extends StepKind> {
  /** `true` = nothing to do. May throw `TryAgainLater` for "not yet" (retried with backoff). */
  check(step: StepOf<K>, host: Host, ctx: StepContext): Promise<boolean>;
  apply(step: StepOf<K>, host: Host, ctx: StepContext): Promise<void>;
}

/** What a step may know about the run it is part of. */
export interface StepContext {
  /** How another step of this run ended, or `undefined` while it has not finished. */
  outcomeOf(id: string): StepOutcome | undefined;
  /** Answers `waitFor` barrier conditions (the coordinator client supplies it). */
  barriers?: (name: string) => Promise<boolean>;
  /** Has the coordinator sign a CSR for a profile (`certificate` steps). */
  sign?: (profile: CertProfileName, csrPem: string) => Promise<SignResponse>;
  /**
   * `true` for the re-check after this step's `apply` ran. Lets a step whose need to act comes
   * from the run rather than the machine (a pending restart) see that it already acted.
   */
  applied: boolean;
  /** `true` in plan mode, where `wouldChange` counts as a change for dependants. */
  planning: boolean;
}

/** True when a step listed as a trigger changed (or, when planning, would change) in this run. */
export function anyChanged(ids: readonly string[], ctx: StepContext): boolean {
  return ids.some((id) => {
    const outcome = ctx.outcomeOf(id);
    return outcome === "changed" || (ctx.planning && outcome === "wouldChange");
  });
}

/** Same bytes and same permission bits as wanted; a directory in the way never matches. */
export async function fileMatches(host: Host, path: string, content: Buffer, mode: number): Promise<boolean> {
  const info = await host.stat(path);
  if (!info || info.isDirectory || info.mode !== mode) return false;
  const current = await host.readFile(path);
  return current !== undefined && current.equals(content);
}

/** Writes the file only when it differs; returns whether it did. */
export async function ensureFile(host: Host, path: string, content: Buffer, mode: number): Promise<boolean> {
  if (await fileMatches(host, path, content, mode)) return false;
  await host.writeFile(path, content, mode);
  return true;
}

/** Kernel output pads with tabs (`32768\t60999`); users write spaces. Compare the words. */
export function normalizeWhitespace(value: string): string {
  return value.trim().split(/\s+/).join(" ");
}
