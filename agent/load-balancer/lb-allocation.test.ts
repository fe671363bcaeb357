import { describe, expect, it } from "vitest";
import { LbService } from "./lb-objects.js";
import { planLoadBalancers, reservedPorts } from "./lb-allocation.js";
import { renderLbChain } from "./lb-firewall.js";

const svc = (name: string, created: string, ports: { port: number; protocol?: string }[], extra: { type?: string; ingress?: string[]; loadBalancerClass?: string } = {}) =>
  LbService.parse({
    metadata: { name, namespace: "default", uid: `uid-${name}`, creationTimestamp: created },
    spec: { type: extra.type ?? "LoadBalancer", ports, loadBalancerClass: extra.loadBalancerClass },
    status: { loadBalancer: { ingress: (extra.ingress ?? []).map((ip) => ({ ip })) } },
  });
const POLICY = { addresses: ["10.0.0.10", "10.0.0.11"], ports: { from: 1024, to: 29999 }, reserved: reservedPorts([22, 80, 443]) };

describe("the edge's LoadBalancer plan", () => {
  it("serves a Service on every edge address and opens exactly its ports", () => {
    const plan = planLoadBalancers([svc("web", "2026-01-01T00:00:00Z", [{ port: 8080 }, { port: 5353, protocol: "UDP" }]), svc("plain", "2026-01-01T00:00:00Z", [{ port: 80 }], { type: "ClusterIP" })], POLICY);
    expect(plan.open).toEqual([
      { protocol: "udp", port: 5353 },
      { protocol: "tcp", port: 8080 },
    ]);
    expect(plan.status).toEqual([{ namespace: "default", name: "web", ingress: ["10.0.0.10", "10.0.0.11"] }]);
    expect(plan.pending).toEqual([]);
    // Published already: nothing to patch.
    expect(planLoadBalancers([svc("web", "2026-01-01T00:00:00Z", [{ port: 8080 }], { ingress: ["10.0.0.10", "10.0.0.11"] })], POLICY).status).toEqual([]);
  });

  it("leaves Services Pending, naming the conflict: the edge's own ports, the range, an older Service, SCTP", () => {
    const plan = planLoadBalancers(
      [
        svc("https", "2026-01-01T00:00:01Z", [{ port: 443 }]),
        svc("api", "2026-01-01T00:00:02Z", [{ port: 6443 }]),
        svc("nodeport-range", "2026-01-01T00:00:03Z", [{ port: 30080 }]),
        svc("second", "2026-01-01T00:00:05Z", [{ port: 9000 }, { port: 9001 }]),
        svc("first", "2026-01-01T00:00:04Z", [{ port: 9000 }]),
        svc("sctp", "2026-01-01T00:00:06Z", [{ port: 9100, protocol: "SCTP" }]),
      ],
      POLICY,
    );
    expect(plan.pending.map((p) => [p.name, p.reason, p.message])).toEqual([
      ["https", "PortConflict", "port 443/TCP is the edge's own HTTPS (nginx, the Ingress edge)"],
      ["api", "PortConflict", "port 6443/TCP is the edge's own Kubernetes API server"],
      ["nodeport-range", "PortNotAllowed", "port 30080/TCP is outside edge.loadBalancerPorts 1024-29999"],
      ["second", "PortConflict", "port 9000/TCP is taken by Service default/first on the edge"],
      ["sctp", "ProtocolNotSupported", "port 9100/SCTP: the edge forwards only TCP and UDP"],
    ]);
    // Served whole or not at all: 9001 stays closed with 9000 taken.
    expect(plan.open).toEqual([{ protocol: "tcp", port: 9000 }]);
  });

  it("takes its address back when a Service is no longer a LoadBalancer, and leaves other controllers' Services alone", () => {
    const plan = planLoadBalancers(
      [svc("was-lb", "2026-01-01T00:00:00Z", [{ port: 8080 }], { type: "ClusterIP", ingress: ["10.0.0.10"] }), svc("metallb", "2026-01-01T00:00:00Z", [{ port: 8081 }], { loadBalancerClass: "metallb.io/l2", ingress: ["192.0.2.9"] })],
      POLICY,
    );
    expect(plan.status).toEqual([{ namespace: "default", name: "was-lb", ingress: [] }]);
    expect(plan.open).toEqual([]);
  });

  it("replaces the firewall chain's rules in one iptables-restore commit", () => {
    expect(renderLbChain([{ protocol: "tcp", port: 8080 }])).toBe("*mangle\n:SPROUT-EDGE-LB - [0:0]\n-A SPROUT-EDGE-LB -p tcp -m tcp --dport 8080 -j ACCEPT\nCOMMIT\n");
    expect(renderLbChain([])).toBe("*mangle\n:SPROUT-EDGE-LB - [0:0]\nCOMMIT\n");
  });
});
