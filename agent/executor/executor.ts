import { TryAgainLater, describeError } from "../../shared/errors.js";
import type { AgentEventInput } from "../../shared/events.js";
import type { Step, StepOutcome } from "../../shared/steps.js";
import { DryRunHost } from "../host/dry-run-host.js";
import type { PlannedChange } from "../host/dry-run-host.js";
import type { Host } from "../host/host.js";
import { Journal } from "./journal.js";
import { applyStep, checkStep } from "./kinds/index.js";
import type { StepContext } from "./kinds/index.js";
import { DEFAULT_BACKOFF, abortReason, backoffDelay, sleep, type Backoff } from "../../shared/backoff.js";
import { withTimeout } from "./timing.js";
import { dependenciesOf, validatePlan } from "./validate-plan.js";

/**
 * Runs a plan of steps: every step whose dependencies are done runs, up to `concurrency` at a
 * time; each one is checked, applied only when it differs, and checked again. "Not yet"
 * (`TryAgainLater`) is retried with jittered backoff until the step's deadline. A failed step
 * skips everything that depends on it and nothing else.
 */

export interface RunOptions {
  host: Host;
  /** `plan`: check only; changes are applied to a `DryRunHost` and reported, never made. */
  mode: "apply" | "plan";
  concurrency?: number;
  emit?: (event: AgentEventInput) => void;
  /** Answers `waitFor` barrier conditions; usually the coordinator client. */
  barriers?: (name: string) => Promise<boolean>;
  /** Signs CSRs for `certificate` steps; usually the coordinator client. */
  sign?: StepContext["sign"];
  /** Aborting stops scheduling, ends waits at once, and makes `runSteps` reject with the reason. */
  signal?: AbortSignal;
  backoff?: Partial<Backoff>;
  /** Record results in the node journal (apply mode only; default true). */
  journal?: boolean;
  journalPath?: string;
  /** Emit a `converged` event for this manifest revision when the pass ends (apply mode). */
  revision?: number;
  /** Clock in milliseconds, for durations and deadlines. */
  now?: () => number;
}

export interface StepResult {
  outcome: StepOutcome;
  durationMs: number;
  /** Why a step failed. */
  error?: string;
  /** Why a step was skipped, or what a planned step would wait for. */
  note?: string;
}

export interface RunSummary {
  mode: "apply" | "plan";
  /** Keyed by step id, in plan order. */
  outcomes: Record<string, StepResult>;
  /** Steps that changed (apply) or would change (plan). */
  changed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  /** Plan mode: what the changes would be (the DryRunHost's record). */
  plannedChanges?: PlannedChange[];
}

export async function runSteps(steps: Step[], options: RunOptions): Promise<RunSummary> {
  validatePlan(steps);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);

  const now = options.now ?? Date.now;
  const emit = safeEmitter(options.emit);
  const planning = options.mode === "plan";
  // Plan mode never gets the real host for anything that could change it, whatever was passed.
  const dryHost = planning ? (options.host instanceof DryRunHost ? options.host : new DryRunHost(options.host)) : undefined;
  const journal =
    !planning && options.journal !== false
      ? await Journal.load(options.host, { path: options.journalPath, warn: (message) => emit({ type: "log", level: "warn", message }) })
      : undefined;

  const runner = new StepRunner({
    now,
    emit,
    planning,
    signal,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
  });
  const results = new Map<string, StepResult>();
  const started = now();

  try {
    await schedule(steps, concurrency, results, signal, emit, async (step) => {
      const host = dryHost ? dryHost.forStep(step.id) : options.host;
      const ctx: StepContext = { outcomeOf: (id) => results.get(id)?.outcome, barriers: options.barriers, sign: options.sign, applied: false, planning };
      const result = await runner.run(step, host, ctx);
      if (journal && (result.outcome === "changed" || result.outcome === "unchanged")) {
        journal.record(step, result.outcome, new Date(now()));
      }
      return result;
    });
  } finally {
    if (journal) {
      // The journal is history, not state: failing to write it must not fail the node.
      await journal.save().catch((err: unknown) => emit({ type: "log", level: "warn", message: `cannot save the journal: ${describeError(err)}` }));
    }
  }
  if (signal?.aborted) throw abortReason(signal);

  const outcomes: Record<string, StepResult> = {};
  for (const step of steps) outcomes[step.id] = results.get(step.id)!;
  const count = (...o: StepOutcome[]) => Object.values(outcomes).filter((r) => o.includes(r.outcome)).length;
  const summary: RunSummary = {
    mode: options.mode,
    outcomes,
    changed: count("changed", "wouldChange"),
    failed: count("failed"),
    skipped: count("skipped"),
    durationMs: now() - started,
  };
  if (dryHost) summary.plannedChanges = dryHost.changes;
  if (!planning && options.revision !== undefined) {
    emit({ type: "converged", revision: options.revision, changed: summary.changed, failed: summary.failed });
  }
  return summary;
}

/**
 * Starts every step whose dependencies all ended well, keeping at most `limit` in flight, and
 * skips steps whose dependency failed or was skipped. Returns when nothing is left to run or,
 * after an abort, once the steps in flight have given up.
 */
async function schedule(
  steps: readonly Step[],
  limit: number,
  results: Map<string, StepResult>,
  signal: AbortSignal | undefined,
  emit: (e: AgentEventInput) => void,
  runOne: (step: Step) => Promise<StepResult>,
): Promise<void> {
  let waiting = [...steps];
  const running = new Map<string, Promise<void>>();
  /** For a failed step: itself; for a skipped one: the failed step that caused the skip. */
  const rootCause = new Map<string, string>();

  const skip = (step: Step, note: string, cause: string) => {
    results.set(step.id, { outcome: "skipped", durationMs: 0, note });
    rootCause.set(step.id, cause);
    emit({ type: "step.finished", stepId: step.id, outcome: "skipped", durationMs: 0 });
  };

  while (waiting.length > 0 || running.size > 0) {
    // Skips cascade (a skip can make the next step skippable), so sweep until nothing moves.
    for (let moved = true; moved && !signal?.aborted; ) {
      moved = false;
      for (const step of waiting) {
        const deps = dependenciesOf(step);
        const bad = deps.find((d) => ["failed", "skipped"].includes(results.get(d)?.outcome ?? ""));
        if (bad !== undefined) {
          const root = rootCause.get(bad) ?? bad;
          skip(step, root === bad ? `dependency "${bad}" failed` : `dependency "${bad}" was skipped because "${root}" failed`, root);
        } else if (deps.every((d) => results.has(d)) && running.size < limit) {
          const settled = runOne(step).catch((err: unknown): StepResult => ({ outcome: "failed", durationMs: 0, error: describeError(err) }));
          running.set(step.id, settled.then((result) => {
            results.set(step.id, result);
            if (result.outcome === "failed") rootCause.set(step.id, step.id);
            running.delete(step.id);
          }));
        } else continue;
        waiting = waiting.filter((s) => s !== step);
        moved = true;
        break; // `waiting` changed under the loop; start the sweep again
      }
    }
    if (signal?.aborted) {
      for (const step of waiting) skip(step, "the run was aborted", step.id);
      waiting = [];
    }
    if (running.size === 0) break; // validated acyclic, so nothing can be left waiting here
    await Promise.race(running.values());
  }
}

/** Never lets a broken event sink change how the node is configured. */
function safeEmitter(emit: RunOptions["emit"]): (e: AgentEventInput) => void {
  return (event) => {
    try {
      emit?.(event);
    } catch {
      // Progress reporting is best effort by design; the step outcome is what matters.
    }
  };
}

interface RunnerOptions {
  now: () => number;
  emit: (e: AgentEventInput) => void;
  planning: boolean;
  signal: AbortSignal | undefined;
  backoff: Backoff;
}

/** Runs one step to its outcome: check, apply, re-check, with retries and a deadline. */
class StepRunner {
  constructor(private readonly o: RunnerOptions) {}

  async run(step: Step, host: Host, ctx: StepContext): Promise<StepResult> {
    const { now, emit, signal } = this.o;
    const started = now();
    const deadline = started + step.deadlineSeconds * 1000;
    emit({ type: "step.started", stepId: step.id });

    let attempt = 0;
    let waitingFor: string | undefined;
    for (;;) {
      try {
        if (now() >= deadline && waitingFor !== undefined) {
          throw new Error(`timed out after ${step.deadlineSeconds}s waiting for ${waitingFor}`);
        }
        const { outcome, note } = await this.attempt(step, host, ctx, deadline);
        const durationMs = now() - started;
        emit({ type: "step.finished", stepId: step.id, outcome, durationMs });
        return note === undefined ? { outcome, durationMs } : { outcome, durationMs, note };
      } catch (err) {
        if (err instanceof TryAgainLater && !signal?.aborted) {
          waitingFor = err.waitingFor;
          if (this.o.planning) {
            // A plan must not block on the cluster: report the wait instead of doing it.
            const durationMs = now() - started;
            emit({ type: "step.finished", stepId: step.id, outcome: "wouldChange", durationMs });
            return { outcome: "wouldChange", durationMs, note: `would wait for ${waitingFor}` };
          }
          attempt++;
          emit({ type: "step.waiting", stepId: step.id, waitingFor: truncate(waitingFor, 1024), attempt });
          // Sleep at most until the deadline; the next turn of the loop then reports the timeout.
          await sleep(Math.min(backoffDelay(attempt, this.o.backoff), deadline - now()), signal).catch(() => {});
          continue;
        }
        const error = signal?.aborted ? `aborted: ${describeError(abortReason(signal))}` : describeError(err);
        const durationMs = now() - started;
        const logTail = (err as { logTail?: unknown } | undefined)?.logTail;
        emit({
          type: "step.failed",
          stepId: step.id,
          reason: truncate(error, 4096),
          durationMs,
          ...(typeof logTail === "string" && logTail !== "" ? { logTail: truncateStart(logTail, 16384) } : {}),
        });
        return { outcome: "failed", durationMs, error };
      }
    }
  }

  /** One pass of check → (apply → check). Throws TryAgainLater for "not yet". */
  private async attempt(step: Step, host: Host, ctx: StepContext, deadline: number): Promise<{ outcome: StepOutcome; note?: string }> {
    const bounded = <T>(phase: string, work: () => Promise<T>) =>
      withTimeout(
        work(),
        deadline - this.o.now(),
        () => new Error(`timed out after ${step.deadlineSeconds}s: the ${phase} did not finish`),
        this.o.signal,
      );

    if (await bounded("check", () => checkStep(step, host, ctx))) return { outcome: "unchanged" };
    if (this.o.planning) {
      // Applying to the DryRunHost records what would change. A dry run cannot see its own
      // effects (a dry `exec` reports exit 1), so an apply that stops early is expected here;
      // whatever it recorded up to that point is the plan.
      await bounded("planned apply", () => applyStep(step, host, ctx)).catch((err: unknown) => {
        if (this.o.signal?.aborted) throw err;
      });
      return { outcome: "wouldChange" };
    }
    await bounded("apply", () => applyStep(step, host, ctx));
    ctx.applied = true;
    if (!(await bounded("re-check", () => checkStep(step, host, ctx)))) {
      throw new Error("applied but still differs from the desired state");
    }
    return { outcome: "changed" };
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

function truncateStart(text: string, max: number): string {
  return text.length <= max ? text : "…" + text.slice(text.length - max + 1);
}

/**
 * Runs one step on its own, outside a plan: for a workstation that pushes steps one at a time
 * (the push baseline in bench/push). `outcomeOf` answers for the steps that ran before it on this
 * node, so a unit still restarts when its config changed in an earlier push.
 */
export function runOneStep(
  step: Step,
  o: { host: Host; outcomeOf?: StepContext["outcomeOf"]; barriers?: RunOptions["barriers"]; sign?: RunOptions["sign"]; signal?: AbortSignal; emit?: RunOptions["emit"] },
): Promise<StepResult> {
  const runner = new StepRunner({ now: Date.now, emit: safeEmitter(o.emit), planning: false, signal: o.signal, backoff: DEFAULT_BACKOFF });
  return runner.run(step, o.host, { outcomeOf: o.outcomeOf ?? (() => undefined), barriers: o.barriers, sign: o.sign, applied: false, planning: false });
}
