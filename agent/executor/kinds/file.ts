import type { StepKindImpl } from "./kind.js";
import { fileMatches } from "./kind.js";
import type { StepOf } from "../../../shared/steps.js";

/** A file with exact bytes and mode. */
export const fileKind: StepKindImpl<"file"> = {
  check: (step, host) => fileMatches(host, step.path, contentOf(step), step.mode),
  apply: (step, host) => host.writeFile(step.path, contentOf(step), step.mode),
};

function contentOf(step: StepOf<"file">): Buffer {
  return Buffer.from(step.content, step.encoding);
}
