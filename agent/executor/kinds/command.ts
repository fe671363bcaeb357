import type { StepKindImpl } from "./kind.js";
import type { StepOf } from "../../../shared/steps.js";
import { outputTail } from "../../host/run-process.js";

type CommandStep = StepOf<"command">;

/** A command exited non-zero. `logTail` carries the end of its output for the step.failed event. */
export class CommandFailedError extends Error {
  override name = "CommandFailedError";
  constructor(
    readonly argv: string[],
    readonly code: number,
    readonly logTail: string,
  ) {
    super(`${argv.join(" ")} exited with code ${code}${logTail ? `: ${outputTail(logTail, 1000)}` : ""}`);
  }
}

/**
 * The escape hatch. It stays idempotent through `creates` (done when the path exists) or
 * `unless` (done when that probe exits 0). An offline rootfs cannot run anything, so there a
 * command step is only acceptable when its `creates` path is already present in the image.
 */
export const commandKind: StepKindImpl<"command"> = {
  async check(step, host) {
    if (step.creates !== undefined && (await host.stat(step.creates)) !== undefined) return true;
    if (host.offline) {
      throw new Error(
        `cannot run \`${step.argv.join(" ")}\` in an offline rootfs (${host.description})` +
          (step.creates !== undefined ? ` and ${step.creates} does not exist there yet` : ""),
      );
    }
    if (step.unless !== undefined) {
      const probe = await host.exec(step.unless, { env: step.env, timeoutMs: timeoutOf(step) });
      if (probe.code === 0) return true;
    }
    return false;
  },

  async apply(step, host) {
    const result = await host.exec(step.argv, { env: step.env, timeoutMs: timeoutOf(step) });
    if (result.code !== 0) {
      throw new CommandFailedError(step.argv, result.code, outputTail(result.stderr || result.stdout, 16_000));
    }
  },
};

/** The process itself is killed at the step deadline, not only abandoned by the executor. */
function timeoutOf(step: CommandStep): number {
  return step.deadlineSeconds * 1000;
}
