import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";

/**
 * Pod networking on the node: the standard CNI bridge with host-local addresses from the node's
 * own pod CIDR (the coordinator hands each node a distinct one), masquerading traffic that
 * leaves the pod network. A CNI config is also what turns the kubelet's node `Ready`.
 * Traffic to another node's pods is routed via that node's address (peers come from the
 * coordinator and stay current as nodes join).
 */
export function renderCniConfig(m: NodeManifest): string {
  const config = {
    cniVersion: "0.4.0",
    name: "sprout",
    plugins: [
      {
        type: "bridge",
        bridge: "sprout0",
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: m.node.podCidr }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function podNetworkSteps(m: NodeManifest): StepInput[] {
  return [
    {
      id: "cni/config",
      kind: "file",
      description: `CNI bridge config for pod CIDR ${m.node.podCidr}`,
      path: "/etc/cni/net.d/10-sprout.conflist",
      content: renderCniConfig(m),
      mode: 0o644,
      dependsOn: ["dirs/cni-conf"],
    },
    ...m.peers.map((peer) => ({
      id: `routes/${peer.name}`,
      kind: "route" as const,
      description: `route to ${peer.name}'s pods (${peer.podCidr}) via ${peer.address}`,
      destination: peer.podCidr,
      via: peer.address,
    })),
  ];
}
