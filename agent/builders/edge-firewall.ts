import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { renderUnit } from "./systemd-unit.js";
import { LB_CHAIN } from "../load-balancer/lb-firewall.js";

export const FIREWALL_SCRIPT = "/usr/local/lib/sprout/edge-firewall.sh";
export const FIREWALL_UNIT = "sprout-edge-firewall.service";
const CHAIN = "SPROUT-EDGE-IN";

/**
 * An edge node faces the outside: from any source outside the cluster's own networks it takes
 * only new TCP connections to the open ports (SSH, HTTP, HTTPS by default) and ICMP; the rest is
 * dropped. The rules sit in the mangle table's PREROUTING, before kube-proxy's DNAT, so they
 * also close NodePorts and the kubelet's and API server's ports to the outside. iptables rules
 * live in the kernel, so a oneshot unit applies them at every boot; the script is idempotent
 * (it rebuilds its own chain).
 */
export function edgeFirewallSteps(m: NodeManifest): StepInput[] {
  const edge = m.edge;
  if (!edge) return [];
  return [
    { id: "edge/firewall-script", kind: "file", description: "the edge's inbound filter", path: FIREWALL_SCRIPT, content: renderFirewallScript(edge.internalCidrs, edge.openPorts), mode: 0o755 },
    {
      id: "edge/firewall",
      kind: "systemdUnit",
      description: `only ports ${edge.openPorts.join(", ")} open to the outside`,
      name: FIREWALL_UNIT,
      content: renderUnit({
        description: "Sprout edge: only SSH, HTTP and HTTPS (the open ports) from outside the cluster",
        before: ["nginx.service"],
        service: [
          ["Type", "oneshot"],
          ["RemainAfterExit", "yes"],
        ],
        execStart: [[FIREWALL_SCRIPT]],
        wantedBy: "multi-user.target",
      }),
      dependsOn: ["edge/firewall-script"],
      restartOnChangeOf: ["edge/firewall-script"],
    },
  ];
}

export function renderFirewallScript(internalCidrs: string[], openPorts: number[]): string {
  const lines = [
    "#!/bin/sh",
    "# Written by sprout-agent from the node manifest; local edits are replaced.",
    "set -eu",
    "t() { iptables -w -t mangle \"$@\"; }",
    `t -N ${CHAIN} 2>/dev/null || t -F ${CHAIN}`,
    `t -A ${CHAIN} -i lo -j RETURN`,
    ...internalCidrs.map((c) => `t -A ${CHAIN} -s ${c} -j RETURN`),
    `t -A ${CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
    `t -A ${CHAIN} -p icmp -j RETURN`,
  ];
  if (openPorts.length > 0) lines.push(`t -A ${CHAIN} -p tcp -m multiport --dports ${openPorts.join(",")} -j RETURN`);
  // LoadBalancer Services' ports: the edge controller owns that chain's rules (lb-firewall.ts).
  lines.push(`t -N ${LB_CHAIN} 2>/dev/null || true`, `t -A ${CHAIN} -j ${LB_CHAIN}`);
  lines.push(`t -A ${CHAIN} -j DROP`, `t -C PREROUTING -j ${CHAIN} 2>/dev/null || t -I PREROUTING -j ${CHAIN}`, "");
  return lines.join("\n");
}
