import { describe, expect, it } from "vitest";
import { DnsEndpointSlice, DnsService } from "./dns-objects.js";
import { clusterRecords, reverseName } from "./dns-records.js";

const svc = (name: string, spec: Record<string, unknown>, namespace = "default") => DnsService.parse({ metadata: { name, namespace }, spec });
const slice = (service: string, endpoints: unknown[], ports: unknown[] = [], namespace = "default") =>
  DnsEndpointSlice.parse({ metadata: { name: `${service}-abc`, namespace, labels: { "kubernetes.io/service-name": service } }, addressType: "IPv4", endpoints, ports });
const O = { domain: "cluster.local", ttl: 5 };

describe("cluster DNS records (kubernetes/dns specification 1.1.0)", () => {
  it("a ClusterIP Service: A, SRV for each named port, PTR", () => {
    const r = clusterRecords([svc("web", { clusterIP: "10.96.3.4", ports: [{ name: "http", port: 80 }, { port: 81 }, { name: "dns", port: 53, protocol: "UDP" }] })], [], O);
    expect(r.records).toEqual([
      "4.3.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local.",
      "_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 100 53 web.default.svc.cluster.local.",
      "_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local.",
      "web.default.svc.cluster.local. 5 IN A 10.96.3.4",
    ]);
    expect(r.skipped).toEqual([]);
  });

  it("a headless Service: ready endpoints only, hostname records for StatefulSet pods, dashed names otherwise, SRV and PTR to them", () => {
    const r = clusterRecords(
      [svc("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] })],
      [
        slice(
          "db",
          [
            { addresses: ["10.244.1.5"], hostname: "db-0", conditions: { ready: true } },
            { addresses: ["10.244.2.6"], conditions: {} },
            { addresses: ["10.244.2.7"], hostname: "db-2", conditions: { ready: false } },
          ],
          [{ name: "pg", port: 5432, protocol: "TCP" }],
        ),
      ],
      O,
    );
    expect(r.records).toEqual([
      "10-244-2-6.db.default.svc.cluster.local. 5 IN A 10.244.2.6",
      "5.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.default.svc.cluster.local.",
      "6.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-6.db.default.svc.cluster.local.",
      "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 5432 10-244-2-6.db.default.svc.cluster.local.",
      "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.default.svc.cluster.local.",
      "db-0.db.default.svc.cluster.local. 5 IN A 10.244.1.5",
      "db.default.svc.cluster.local. 5 IN A 10.244.1.5",
      "db.default.svc.cluster.local. 5 IN A 10.244.2.6",
    ]);
    // publishNotReadyAddresses: the not-ready pod too (StatefulSet peers finding each other).
    const all = clusterRecords([svc("db", { clusterIP: "None", publishNotReadyAddresses: true })], [slice("db", [{ addresses: ["10.244.2.7"], hostname: "db-2", conditions: { ready: false } }])], O);
    expect(all.records).toContain("db-2.db.default.svc.cluster.local. 5 IN A 10.244.2.7");
  });

  it("ExternalName: a CNAME unbound follows for outside targets; a target inside the cluster gets that name's addresses", () => {
    const r = clusterRecords(
      [
        svc("kubernetes", { clusterIP: "10.96.0.1" }),
        svc("ext", { type: "ExternalName", externalName: "www.Example.org." }),
        svc("inner", { type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local" }),
        svc("gone", { type: "ExternalName", externalName: "nothing.default.svc.cluster.local" }),
        svc("ip", { type: "ExternalName", externalName: "192.0.2.1" }),
      ],
      [],
      O,
    );
    expect(r.redirects).toEqual([{ name: "ext.default.svc.cluster.local", target: "www.example.org" }]);
    expect(r.records).toContain("inner.default.svc.cluster.local. 5 IN A 10.96.0.1");
    expect(r.skipped).toEqual([
      'Service default/ip: externalName "192.0.2.1" is not a DNS name',
      "Service default/gone: externalName nothing.default.svc.cluster.local has no address in the cluster",
    ]);
  });

  it("skips what cannot be a record, naming the object, and keeps every other record", () => {
    const r = clusterRecords(
      [svc("Bad_Name", { clusterIP: "10.96.0.9" }), svc("quote", { type: "ExternalName", externalName: 'x" ; evil' }), svc("ok", { clusterIP: "10.96.0.8", ports: [{ name: "UPPER", port: 1 }] }), svc("pending", {})],
      [slice("ok", [{ addresses: ["not-an-ip"] }])],
      O,
    );
    expect(r.records).toEqual(["8.0.96.10.in-addr.arpa. 5 IN PTR ok.default.svc.cluster.local.", "ok.default.svc.cluster.local. 5 IN A 10.96.0.8"]);
    expect(r.skipped).toEqual([
      "Service default/Bad_Name: the name is not a DNS label",
      'Service default/quote: externalName "x\\" ; evil" is not a DNS name',
      'Service default/ok: port "UPPER" (TCP 1) has no SRV record: not a valid port name, protocol or number',
    ]);
  });

  it("reverse names", () => {
    expect(reverseName("10.96.0.1")).toBe("1.0.96.10.in-addr.arpa");
  });
});
