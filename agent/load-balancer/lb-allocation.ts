import { METRICS_SERVICE } from "../../shared/cert-profiles.js";
import type { LbService } from "./lb-objects.js";

/**
 * Which LoadBalancer Services the edge serves, on which ports, as MetalLB's L2 mode does with
 * the data path left to kube-proxy: a served Service gets the edge addresses as its
 * `status.loadBalancer.ingress`, kube-proxy then forwards traffic to those addresses on the
 * Service's ports, and the edge firewall opens exactly those ports.
 *
 * A Service is served whole or not at all. It stays Pending, with the reason, when a port:
 * - lies outside `edge.loadBalancerPorts`;
 * - is one the edge itself serves (SSH, nginx, the API server, the kubelet…);
 * - is taken by an older Service (the first one created keeps it);
 * - uses a protocol other than TCP or UDP.
 * Services with another `spec.loadBalancerClass` belong to another controller and are left alone.
 */
export interface LbPolicy {
  /** The edge nodes' addresses: every served Service gets all of them. */
  addresses: string[];
  ports: { from: number; to: number };
  /** Ports the edge serves itself, and what serves them. */
  reserved: Record<number, string>;
}

/** What an edge node serves on its own addresses (TCP): never given to a Service. */
export const EDGE_OWN_PORTS: Record<number, string> = {
  22: "SSH",
  80: "HTTP (nginx, the Ingress edge)",
  443: "HTTPS (nginx, the Ingress edge)",
  2379: "etcd (client)",
  2380: "etcd (peers)",
  [METRICS_SERVICE.targetPort]: "Sprout's metrics.k8s.io server",
  6443: "Kubernetes API server",
  10248: "kubelet health check",
  10249: "kube-proxy metrics",
  10250: "kubelet API",
  10256: "kube-proxy health check",
  10257: "kube-controller-manager",
  10259: "kube-scheduler",
};

/** The edge's own ports, and those cluster.yaml opens (`edge.openPorts`). */
export function reservedPorts(openPorts: number[]): Record<number, string> {
  return { ...Object.fromEntries(openPorts.map((p) => [p, "port opened by edge.openPorts"])), ...EDGE_OWN_PORTS };
}

export interface LbPlan {
  /** Ports to open on the edge, sorted. */
  open: { protocol: "tcp" | "udp"; port: number }[];
  /** Services whose status must change: the ingress to publish (empty: Pending). */
  status: { namespace: string; name: string; ingress: string[] }[];
  /** Services left Pending, and why. */
  pending: { namespace: string; name: string; uid: string; reason: "PortNotAllowed" | "PortConflict" | "ProtocolNotSupported"; message: string }[];
}

export function planLoadBalancers(services: LbService[], p: LbPolicy): LbPlan {
  const plan: LbPlan = { open: [], status: [], pending: [] };
  const taken = new Map<string, string>();
  const ours = (s: LbService) => s.spec.type === "LoadBalancer" && (s.spec.loadBalancerClass === undefined || s.spec.loadBalancerClass === "sprout.dev/edge");
  const ordered = [...services].sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const s of ordered) {
    const current = (s.status.loadBalancer.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
    const ref = { namespace: s.metadata.namespace, name: s.metadata.name };
    let want: string[] = [];
    if (ours(s)) {
      const problem = portProblem(s, p, taken);
      if (problem) {
        plan.pending.push({ ...ref, uid: s.metadata.uid, ...problem });
      } else {
        for (const port of s.spec.ports) {
          const protocol = port.protocol.toLowerCase() as "tcp" | "udp";
          taken.set(`${protocol}/${port.port}`, `Service ${s.metadata.namespace}/${s.metadata.name}`);
          plan.open.push({ protocol, port: port.port });
        }
        want = p.addresses;
      }
    } else if (s.spec.type === "LoadBalancer" || !current.some((ip) => p.addresses.includes(ip))) {
      continue; // another controller's, or nothing of ours to take back
    }
    // Not (or no longer) a LoadBalancer we serve, but still showing our address: cleared.
    if (current.join() !== want.join()) plan.status.push({ ...ref, ingress: want });
  }
  plan.open.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  return plan;
}

function portProblem(s: LbService, p: LbPolicy, taken: Map<string, string>): Pick<LbPlan["pending"][number], "reason" | "message"> | undefined {
  for (const port of s.spec.ports) {
    const protocol = port.protocol.toLowerCase();
    const label = `port ${port.port}/${port.protocol}`;
    if (protocol !== "tcp" && protocol !== "udp") return { reason: "ProtocolNotSupported", message: `${label}: the edge forwards only TCP and UDP` };
    const reserved = p.reserved[port.port];
    if (reserved && protocol === "tcp") return { reason: "PortConflict", message: `${label} is the edge's own ${reserved}` };
    if (port.port < p.ports.from || port.port > p.ports.to) return { reason: "PortNotAllowed", message: `${label} is outside edge.loadBalancerPorts ${p.ports.from}-${p.ports.to}` };
    const key = `${protocol}/${port.port}`;
    const owner = taken.get(key);
    if (owner) return { reason: "PortConflict", message: `${label} is taken by ${owner} on the edge` };
  }
  return undefined;
}
