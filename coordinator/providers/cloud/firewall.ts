import type { CloudPlan } from "./cloud-plan.js";

/**
 * The one firewall every cloud renders (as security groups, firewall rules or an NSG): from
 * outside, SSH from the admin networks and HTTP/HTTPS from anywhere (only the master and edge
 * nodes have public addresses to receive them) and, to the edge nodes only, the LoadBalancer
 * port range (the edge's own firewall opens only the ports Services hold); inside, everything between the cluster's nodes
 * and pods. The coordinator's port, the API server, NodePorts, etcd and GlusterFS are reachable
 * only from inside: the CLI talks to the coordinator through its SSH tunnel.
 */
/** AWS checks rule descriptions against this (terraform-provider-aws); the others accept more. */
export const AWS_DESCRIPTION = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;

export interface IngressRule {
  name: string;
  description: string;
  protocol: "tcp" | "udp" | "all";
  /** For tcp and udp: the port, or the first of a range. */
  port?: number;
  /** The last port of a range. */
  toPort?: number;
  from: string[];
  /**
   * Which nodes the rule admits traffic to: every node, or only the edge nodes. Only the edge
   * runs the firewall that drops LoadBalancer ports no Service holds; a master behind a separate
   * edge must not have etcd, the API server, the kubelet or the coordinator open to the world.
   */
  to: "all" | "edge";
}

/** Whether a node is one of the edge nodes (edge.nodes: the edge group, else the masters). */
export function isEdgeNode(plan: CloudPlan, node: { name: string }): boolean {
  return plan.edge.nodes.includes(node.name);
}

export const PUBLIC_TCP_PORTS = [22, 80, 443];

export function ingressRules(plan: CloudPlan): IngressRule[] {
  return [
    { name: "ssh", description: "SSH from the admin networks (the CLI tunnel to the coordinator)", protocol: "tcp", port: 22, from: plan.provider.adminCidrs, to: "all" },
    { name: "http", description: "HTTP to the edge", protocol: "tcp", port: 80, from: ["0.0.0.0/0"], to: "all" },
    { name: "https", description: "HTTPS to the edge", protocol: "tcp", port: 443, from: ["0.0.0.0/0"], to: "all" },
    // LoadBalancer Services: the edge's own firewall opens only the ports Services hold.
    ...(["tcp", "udp"] as const).map((protocol) => ({ name: `lb_${protocol}`, description: `LoadBalancer Services on the edge (${protocol.toUpperCase()} edge.loadBalancerPorts)`, protocol, port: plan.edge.loadBalancerPorts.from, toPort: plan.edge.loadBalancerPorts.to, from: ["0.0.0.0/0"], to: "edge" as const })),
    { name: "nodes", description: "everything between the cluster nodes", protocol: "all", from: [plan.nodeCidr], to: "all" },
    // Pod traffic crosses nodes routed, not encapsulated: its source is a pod address.
    { name: "pods", description: "everything from the cluster pods", protocol: "all", from: [plan.podCidr], to: "all" },
  ];
}
