import { describe, expect, it } from "vitest";
import { renderForwarders, renderRecords, renderUnboundConfig, reverseZones } from "./unbound-config.js";
import { upstreamsFromResolvConf } from "./upstreams.js";

describe("unbound configuration for cluster DNS", () => {
  it("reverse zones cover exactly the cluster's ranges, on octet boundaries", () => {
    expect(reverseZones("10.96.0.0/12")).toEqual(Array.from({ length: 16 }, (_, i) => `${96 + i}.10.in-addr.arpa`));
    expect(reverseZones("10.244.0.0/16")).toEqual(["244.10.in-addr.arpa"]);
    expect(reverseZones("192.168.4.0/23")).toEqual(["4.168.192.in-addr.arpa", "5.168.192.in-addr.arpa"]);
    expect(() => reverseZones("10.0.0.1/8")).toThrow(/not an IPv4 CIDR/);
  });

  it("listens at the DNS address only, refuses strangers, never queries loopback, serves stale answers", () => {
    const c = renderUnboundConfig({ domain: "cluster.local", listen: "10.96.0.10", allow: ["10.244.0.0/16", "10.240.0.10", "10.96.0.10"], reverseCidrs: ["10.96.0.0/12"] });
    expect(c).toContain("  interface: 10.96.0.10\n");
    expect(c.match(/^ {2}interface:/gm)).toHaveLength(1);
    expect(c).toContain("  access-control: 0.0.0.0/0 refuse\n");
    expect(c).toContain("  access-control: 10.244.0.0/16 allow\n  access-control: 10.240.0.10/32 allow\n");
    expect(c).toContain("  do-not-query-localhost: yes\n");
    expect(c).toContain("  serve-expired: yes\n");
    expect(c).toContain('  local-zone: "svc.cluster.local." static\n');
    expect(c).toContain('  local-zone: "111.10.in-addr.arpa." static\n');
    expect(c).toContain(`  local-data: 'dns-version.cluster.local. 30 IN TXT "1.1.0"'\n`);
    expect(c).toContain('  include: "/var/lib/unbound/sprout/*.conf"\n');
  });

  it("renders records and ExternalName redirects as local data", () => {
    const text = renderRecords({ records: ["a.default.svc.cluster.local. 5 IN A 10.96.0.5"], redirects: [{ name: "e.default.svc.cluster.local", target: "example.org" }], skipped: [] });
    expect(text).toBe(
      [
        "# Written by sprout-cluster-dns.service from the cluster's Services and EndpointSlices.",
        "server:",
        '  local-data: "a.default.svc.cluster.local. 5 IN A 10.96.0.5"',
        '  local-zone: "e.default.svc.cluster.local." redirect',
        '  local-data: "e.default.svc.cluster.local. 5 IN CNAME example.org."',
        "",
      ].join("\n"),
    );
  });

  it("forwards to the node's resolvers, never to a loopback stub or to itself (kubeadm#1162)", () => {
    const resolv = "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nnameserver 10.96.0.10\nnameserver 10.0.0.2\noptions edns0\nsearch example.org\n";
    expect(upstreamsFromResolvConf(resolv, ["10.96.0.10"])).toEqual(["10.0.0.2"]);
    expect(renderForwarders(["10.0.0.2", "10.0.0.3"])).toBe('# Written by sprout-agent: the node\'s own resolvers.\nforward-zone:\n  name: "."\n  forward-addr: 10.0.0.2\n  forward-addr: 10.0.0.3\n');
    expect(renderForwarders([])).not.toContain("forward-zone");
  });
});
