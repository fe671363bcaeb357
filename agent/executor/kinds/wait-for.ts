import type { StepContext, StepKindImpl } from "./kind.js";
import { TryAgainLater } from "../../../shared/errors.js";
import type { Host } from "../../host/host.js";
import type { WaitCondition } from "../../../shared/steps.js";

/** Per-attempt budget of a TCP probe; the step's deadline bounds the whole wait. */
const TCP_PROBE_TIMEOUT_MS = 2000;

/**
 * A condition outside this step's control: a coordinator barrier, a TCP port, a file another
 * process creates. "Not yet" is a `TryAgainLater` naming what is awaited, so the executor
 * retries with backoff and the user sees "waiting for the API server at 10.0.0.2:6443".
 * There is nothing to apply: the check either passes or says what it waits for.
 */
export const waitForKind: StepKindImpl<"waitFor"> = {
  async check(step, host, ctx) {
    if (await conditionMet(step.condition, host, ctx, step.id)) return true;
    throw new TryAgainLater(describeCondition(step.condition));
  },
  async apply() {
    // Never reached with an unmet condition: check throws TryAgainLater instead of returning false.
  },
};

async function conditionMet(condition: WaitCondition, host: Host, ctx: StepContext, stepId: string): Promise<boolean> {
  switch (condition.type) {
    case "barrier":
      if (!ctx.barriers) {
        throw new Error(
          `step ${stepId} waits for barrier "${condition.name}" but this run has no barrier source (no coordinator connection)`,
        );
      }
      return ctx.barriers(condition.name);
    case "tcp":
      return host.canConnect(condition.host, condition.port, TCP_PROBE_TIMEOUT_MS);
    case "file":
      return (await host.stat(condition.path)) !== undefined;
  }
}

/** Human words for what is awaited, shown in step.waiting events and timeout messages. */
export function describeCondition(condition: WaitCondition): string {
  switch (condition.type) {
    case "barrier":
      return `barrier "${condition.name}" from the coordinator`;
    case "tcp":
      return `${formatHostPort(condition.host, condition.port)} to accept TCP connections`;
    case "file":
      return `file ${condition.path} to exist`;
  }
}

function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
