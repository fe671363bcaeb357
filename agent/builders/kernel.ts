import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";

/** Where a kernel that has a module's function built in (under another name) shows it. */
const PRESENT_IF: Record<string, string> = {
  br_netfilter: "/proc/sys/net/bridge/bridge-nf-call-iptables",
};

/** Kernel modules and sysctls Kubernetes networking needs; `br_netfilter` must load before its sysctls exist. */
export function kernelSteps(m: NodeManifest): StepInput[] {
  const modules = m.kernel.modules.map((name) => ({
    id: `kernel/module-${name}`,
    kind: "kernelModule" as const,
    description: `load kernel module ${name}`,
    name,
    presentIf: PRESENT_IF[name],
  }));
  const sysctls = Object.entries(m.kernel.sysctls).map(([key, value]) => ({
    id: `kernel/sysctl-${key}`,
    kind: "sysctl" as const,
    description: `sysctl ${key}=${value}`,
    key,
    value,
    dependsOn: key.startsWith("net.bridge.") ? modules.filter((mod) => mod.name === "br_netfilter").map((mod) => mod.id) : [],
  }));
  return [...modules, ...sysctls];
}
