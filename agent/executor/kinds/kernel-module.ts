import type { StepKindImpl } from "./kind.js";
import { ensureFile, fileMatches } from "./kind.js";
import type { Host } from "../../host/host.js";
import type { StepOf } from "../../../shared/steps.js";

/**
 * A kernel module loaded now and at every boot. The modules-load.d file is the durable half and
 * the only half an offline rootfs can have; the live load makes it true without a reboot.
 */
export const kernelModuleKind: StepKindImpl<"kernelModule"> = {
  async check(step, host) {
    if (!(await fileMatches(host, modulesLoadPath(step.name), modulesLoadContent(step.name), 0o644))) return false;
    return host.offline || (await present(step, host));
  },
  async apply(step, host) {
    await ensureFile(host, modulesLoadPath(step.name), modulesLoadContent(step.name), 0o644);
    if (!host.offline && !(await present(step, host))) await host.loadKernelModule(step.name);
  },
};

async function present(step: StepOf<"kernelModule">, host: Host): Promise<boolean> {
  if (await host.isKernelModuleLoaded(step.name)) return true;
  return step.presentIf !== undefined && (await host.stat(step.presentIf)) !== undefined;
}

export function modulesLoadPath(name: string): string {
  return `/etc/modules-load.d/sprout-${name}.conf`;
}

function modulesLoadContent(name: string): Buffer {
  return Buffer.from(`${name}\n`);
}
