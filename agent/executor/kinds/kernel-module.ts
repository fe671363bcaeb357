import type { StepKindImpl } from "./kind.js";
import { ensureFile, fileMatches } from "./kind.js";

/**
 * A kernel module loaded now and at every boot. The modules-load.d file is the durable half and
 * the only half an offline rootfs can have; the live load makes it true without a reboot.
 */
export const kernelModuleKind: StepKindImpl<"kernelModule"> = {
  async check(step, host) {
    if (!(await fileMatches(host, modulesLoadPath(step.name), modulesLoadContent(step.name), 0o644))) return false;
    return host.offline || (await host.isKernelModuleLoaded(step.name));
  },
  async apply(step, host) {
    await ensureFile(host, modulesLoadPath(step.name), modulesLoadContent(step.name), 0o644);
    if (!host.offline && !(await host.isKernelModuleLoaded(step.name))) await host.loadKernelModule(step.name);
  },
};

export function modulesLoadPath(name: string): string {
  return `/etc/modules-load.d/sprout-${name}.conf`;
}

function modulesLoadContent(name: string): Buffer {
  return Buffer.from(`${name}\n`);
}
