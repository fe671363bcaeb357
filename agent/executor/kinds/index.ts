import type { Host } from "../../host/host.js";
import type { Step, StepKind } from "../../../shared/steps.js";
import type { StepContext, StepKindImpl } from "./kind.js";
import { certificateKind } from "./certificate.js";
import { commandKind } from "./command.js";
import { filesystemKind } from "./filesystem.js";
import { glusterVolumeKind } from "./gluster-volume.js";
import { routeKind } from "./route.js";
import { directoryKind } from "./directory.js";
import { fileKind } from "./file.js";
import { kernelModuleKind } from "./kernel-module.js";
import { sysctlKind } from "./sysctl.js";
import { systemdUnitKind } from "./systemd-unit.js";
import { waitForKind } from "./wait-for.js";

export type { StepContext, StepKindImpl } from "./kind.js";
export { CommandFailedError } from "./command.js";
export { describeCondition } from "./wait-for.js";

/** One implementation per step kind; the mapped type makes a missing kind a compile error. */
export const stepKinds: { [K in StepKind]: StepKindImpl<K> } = {
  certificate: certificateKind,
  filesystem: filesystemKind,
  glusterVolume: glusterVolumeKind,
  route: routeKind,
  file: fileKind,
  directory: directoryKind,
  kernelModule: kernelModuleKind,
  sysctl: sysctlKind,
  systemdUnit: systemdUnitKind,
  command: commandKind,
  waitFor: waitForKind,
};

// TypeScript cannot correlate `stepKinds[step.kind]` with `step` itself; the mapped type above
// guarantees they match, so the widening cast is safe.
function implFor(step: Step): StepKindImpl<StepKind> {
  return stepKinds[step.kind] as unknown as StepKindImpl<StepKind>;
}

/** `true` when the step is already in its desired state. */
export function checkStep(step: Step, host: Host, ctx: StepContext): Promise<boolean> {
  return implFor(step).check(step, host, ctx);
}

/** Brings the step to its desired state. */
export function applyStep(step: Step, host: Host, ctx: StepContext): Promise<void> {
  return implFor(step).apply(step, host, ctx);
}
