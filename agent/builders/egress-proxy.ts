import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";

/** The proxy variables the manifest asks for; undefined where it sets none. */
export function proxyEnv(m: NodeManifest): Record<"HTTP_PROXY" | "HTTPS_PROXY" | "NO_PROXY", string | undefined> {
  const p = m.egressProxy;
  return { HTTP_PROXY: p?.httpProxy, HTTPS_PROXY: p?.httpsProxy, NO_PROXY: p?.noProxy };
}

/** systemd drop-ins giving a unit the cluster's egress proxy (and a NO_PROXY for the cluster itself). */
export function proxyDropInStep(m: NodeManifest, unit: string): StepInput | undefined {
  if (!m.egressProxy) return undefined;
  const env = Object.entries(proxyEnv(m))
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return {
    id: `proxy/${unit}`,
    kind: "file",
    description: `egress proxy for ${unit}`,
    path: `/etc/systemd/system/${unit}.d/sprout-proxy.conf`,
    content: `[Service]\n${env.map((e) => `Environment="${e}"`).join("\n")}\n`,
    mode: 0o644,
  };
}

/** The agent's own unit carries the proxy too (from its next start; it never restarts itself). */
export function agentProxySteps(m: NodeManifest): StepInput[] {
  const step = proxyDropInStep(m, "sprout-agent.service");
  return step ? [step] : [];
}
