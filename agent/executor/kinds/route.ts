import type { StepKindImpl } from "./kind.js";
import { outputTail } from "../../host/run-process.js";

/**
 * A route to `destination` via `via`, on a live node. Offline there is nothing to do: routes live
 * in the kernel, not in files, and the agent applies them again when the node boots.
 */
export const routeKind: StepKindImpl<"route"> = {
  async check(step, host) {
    if (host.offline) return true;
    const r = await host.exec(["ip", "-4", "route", "show", "exact", step.destination]);
    return r.code === 0 && new RegExp(`\\bvia ${step.via.replace(/\./g, "\\.")}\\b`).test(r.stdout);
  },
  async apply(step, host) {
    const r = await host.exec(["ip", "route", "replace", step.destination, "via", step.via]);
    if (r.code !== 0) throw new Error(`ip route replace ${step.destination} via ${step.via} failed: ${outputTail(r.stderr, 500)}`);
  },
};
