import type { StepKindImpl } from "./kind.js";
import { ensureFile, fileMatches, normalizeWhitespace } from "./kind.js";
import { TryAgainLater } from "../../../shared/errors.js";
import type { Host } from "../../host/host.js";
import type { StepOf } from "../../../shared/steps.js";

/**
 * A sysctl set now and at every boot: one sysctl.d file per key (so steps never fight over a
 * shared file), plus the live value on a running machine.
 */
export const sysctlKind: StepKindImpl<"sysctl"> = {
  async check(step, host) {
    if (!(await fileMatches(host, sysctlConfPath(step.key), sysctlConfContent(step), 0o644))) return false;
    return host.offline || (await liveValueMatches(step, host));
  },
  async apply(step, host) {
    await ensureFile(host, sysctlConfPath(step.key), sysctlConfContent(step), 0o644);
    if (host.offline || (await liveValueMatches(step, host))) return;
    // Keys such as net.bridge.* exist only once their module is loaded; that is "not yet",
    // not a failure, so the executor retries until the module step (or the kernel) catches up.
    if ((await host.readSysctl(step.key)) === undefined) {
      throw new TryAgainLater(`sysctl ${step.key} to exist (is the kernel module that provides it loaded?)`);
    }
    await host.writeSysctl(step.key, step.value);
  },
};

export function sysctlConfPath(key: string): string {
  return `/etc/sysctl.d/90-sprout-${key}.conf`;
}

function sysctlConfContent(step: StepOf<"sysctl">): Buffer {
  return Buffer.from(`${step.key} = ${step.value}\n`);
}

async function liveValueMatches(step: StepOf<"sysctl">, host: Host): Promise<boolean> {
  const live = await host.readSysctl(step.key);
  return live !== undefined && normalizeWhitespace(live) === normalizeWhitespace(step.value);
}
