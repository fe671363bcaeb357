import { Step } from "../../shared/steps.js";
import type { StepInput } from "../../shared/steps.js";
import type { AgentEventInput } from "../../shared/events.js";

/** Steps as builders write them, with schema defaults filled in (as the agent would parse them). */
export function steps(...inputs: StepInput[]): Step[] {
  return inputs.map((input) => Step.parse(input));
}

/** Collects emitted events with the wall-clock time they arrived. */
export function recorder() {
  const events: (AgentEventInput & { at: number })[] = [];
  return {
    events,
    emit: (e: AgentEventInput) => void events.push({ ...e, at: Date.now() }),
    of: (stepId: string, type: AgentEventInput["type"]) => events.filter((e) => "stepId" in e && e.stepId === stepId && e.type === type),
  };
}
