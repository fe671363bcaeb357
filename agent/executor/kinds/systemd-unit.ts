import type { StepContext, StepKindImpl } from "./kind.js";
import { anyChanged, fileMatches } from "./kind.js";
import type { Host } from "../../host/host.js";
import type { StepOf } from "../../../shared/steps.js";

type UnitStep = StepOf<"systemdUnit">;

/**
 * A systemd unit: its file (when the step carries one), enabled or not at boot, and — on a live
 * machine — running or stopped. A restart is due when the unit file changed under a running
 * unit, or when a step in `restartOnChangeOf` changed in this run (a new config file).
 * Offline there is nothing running, so only the file and the enablement links matter.
 */
export const systemdUnitKind: StepKindImpl<"systemdUnit"> = {
  async check(step, host, ctx) {
    if (step.content !== undefined && !(await fileMatches(host, unitPath(step), unitContent(step), 0o644))) return false;
    const status = await host.unitStatus(step.name);
    if (status.enabled !== step.enabled) return false;
    if (host.offline) return true;
    if (status.active !== (step.state === "running")) return false;
    return !restartPending(step, host, ctx);
  },

  async apply(step, host, ctx) {
    let fileChanged = false;
    if (step.content !== undefined && !(await fileMatches(host, unitPath(step), unitContent(step), 0o644))) {
      await host.writeFile(unitPath(step), unitContent(step), 0o644);
      fileChanged = true;
      // systemd keeps the old definition in memory until told; enable/start would use it.
      await host.reloadUnits();
    }

    const status = await host.unitStatus(step.name);
    if (step.enabled && !status.enabled) await host.enableUnit(step.name);
    if (!step.enabled && status.enabled) await host.disableUnit(step.name);
    if (host.offline) return;

    const triggered = restartPending(step, host, ctx);
    // A trigger may be a file systemd reads itself (a drop-in, a unit file written by another
    // step): without a reload, the start or restart below would use the old definition.
    if (triggered && !fileChanged) await host.reloadUnits();
    if (step.state === "stopped") {
      if (status.active) await host.stopUnit(step.name);
    } else if (!status.active) {
      await host.startUnit(step.name); // a fresh start already picks up new files
    } else if (fileChanged || triggered) {
      await host.restartUnit(step.name);
    }
  },
};

/**
 * A trigger changed this run and the unit should be running on a live host. Once this step's
 * apply has run, the restart has happened, so the re-check must not ask for it again.
 */
function restartPending(step: UnitStep, host: Host, ctx: StepContext): boolean {
  if (host.offline || step.state !== "running" || ctx.applied) return false;
  return anyChanged(step.restartOnChangeOf, ctx);
}

export function unitPath(step: UnitStep): string {
  return `/etc/systemd/system/${step.name}`;
}

function unitContent(step: UnitStep): Buffer {
  return Buffer.from(step.content ?? "");
}
