import { parseCidr } from "../../shared/net.js";
import type { ClusterRecords } from "./dns-records.js";

/**
 * Where cluster DNS lives on a node. Debian's AppArmor profile for /usr/sbin/unbound lets it
 * read only /etc/unbound/** and /var/lib/unbound/**, and use /run/unbound.ctl as its control
 * socket, so everything stays inside those (on clouds the profile is enforced).
 */
export const UNBOUND_PATHS = {
  config: "/etc/unbound/sprout/unbound.conf",
  podModule: "/etc/unbound/sprout/pod-records.py",
  /** Written by the cluster-dns controller; unbound includes `*.conf` from here. */
  dataDir: "/var/lib/unbound/sprout",
  records: "/var/lib/unbound/sprout/records.conf",
  forwarders: "/var/lib/unbound/sprout/forward.conf",
  control: "/run/unbound.ctl",
  /** AppArmor's local additions to Debian's unbound profile (the Python module's reads). */
  apparmorLocal: "/etc/apparmor.d/local/usr.sbin.unbound",
} as const;

/** unbound's embedded Python starts without site-packages, where Debian puts unboundmodule.py. */
export const UNBOUND_PYTHONPATH = "/usr/lib/python3/dist-packages";

/** The TTL of cluster records: CoreDNS's default, so a changed Service is seen within seconds. */
export const RECORD_TTL = 5;
/** The spec's schema version, served as `dns-version.<zone>` TXT. */
export const DNS_SCHEMA_VERSION = "1.1.0";

export interface UnboundConfigInput {
  domain: string;
  /** The address pods are told to use (kubelet clusterDNS): unbound listens there. */
  listen: string;
  /** Sources allowed to query: the pod network, the node's own addresses. */
  allow: string[];
  /** CIDRs whose reverse (PTR) zones are the cluster's: the service and pod networks. */
  reverseCidrs: string[];
}

export function renderUnboundConfig(c: UnboundConfigInput): string {
  const soa = `svc.${c.domain}. ${RECORD_TTL} IN SOA ns.dns.${c.domain}. hostmaster.${c.domain}. 1 7200 1800 86400 ${RECORD_TTL}`;
  const lines = [
    "# Written by sprout-agent from the node manifest; local edits are replaced.",
    `# Cluster records come from ${UNBOUND_PATHS.dataDir}/, written by sprout-cluster-dns.service.`,
    "server:",
    `  interface: ${c.listen}`,
    // The address is added to the loopback just before unbound starts; freebind keeps a start
    // from failing on a race with it.
    "  ip-freebind: yes",
    "  port: 53",
    "  do-daemonize: no",
    '  username: "unbound"',
    '  chroot: ""',
    '  directory: "/var/lib/unbound"',
    '  pidfile: ""',
    "  use-syslog: no",
    "  log-servfail: yes",
    "  verbosity: 1",
    "  num-threads: 1",
    // No DNSSEC validator: the cluster zone is unsigned and upstreams are the node's own resolvers.
    '  module-config: "python iterator"',
    // Never forward to a loopback stub such as systemd-resolved's 127.0.0.53 (kubeadm#1162).
    "  do-not-query-localhost: yes",
    "  access-control: 0.0.0.0/0 refuse",
    "  access-control: 127.0.0.0/8 allow",
    ...c.allow.map((a) => `  access-control: ${a.includes("/") ? a : `${a}/32`} allow`),
    // Outside names keep being answered from the cache when the upstreams are away (RFC 8767).
    "  serve-expired: yes",
    "  serve-expired-ttl: 86400",
    "  serve-expired-client-timeout: 1800",
    "  prefetch: yes",
    `  local-zone: "${c.domain}." transparent`,
    `  local-data: 'dns-version.${c.domain}. 30 IN TXT "${DNS_SCHEMA_VERSION}"'`,
    `  local-zone: "svc.${c.domain}." static`,
    `  local-data: "${soa}"`,
    ...c.reverseCidrs.flatMap((cidr) => reverseZones(cidr)).map((z) => `  local-zone: "${z}." static`),
    `  include: "${UNBOUND_PATHS.dataDir}/*.conf"`,
    "python:",
    `  python-script: "${UNBOUND_PATHS.podModule}"`,
    "remote-control:",
    "  control-enable: yes",
    `  control-interface: ${UNBOUND_PATHS.control}`,
    "",
  ];
  return lines.join("\n");
}

/** The records include: cluster records, and ExternalName CNAMEs in `redirect` zones so unbound follows them. */
export function renderRecords(r: ClusterRecords): string {
  const lines = ["# Written by sprout-cluster-dns.service from the cluster's Services and EndpointSlices.", "server:"];
  for (const rec of r.records) lines.push(`  local-data: "${rec}"`);
  for (const x of r.redirects) lines.push(`  local-zone: "${x.name}." redirect`, `  local-data: "${x.name}. ${RECORD_TTL} IN CNAME ${x.target}."`);
  lines.push("");
  return lines.join("\n");
}

/** Forwarding for every name outside the cluster; with no upstreams unbound resolves from the root itself. */
export function renderForwarders(upstreams: string[]): string {
  if (upstreams.length === 0) return "# Written by sprout-agent: no upstream resolvers known, so unbound resolves from the root servers.\n";
  return ["# Written by sprout-agent: the node's own resolvers.", "forward-zone:", '  name: "."', ...upstreams.map((u) => `  forward-addr: ${u}`), ""].join("\n");
}

/**
 * The reverse zones (`in-addr.arpa`) that hold exactly a CIDR's addresses, on octet boundaries:
 * 10.96.0.0/12 is 96.10 … 111.10. Only the cluster's own ranges, so other reverse lookups (the
 * nodes' network) still go upstream.
 */
export function reverseZones(cidr: string): string[] {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = Math.max(1, Math.ceil(c.prefix / 8));
  const step = 2 ** (32 - octets * 8);
  const zones: string[] = [];
  for (let base = c.base; base < c.base + c.size; base += step) {
    const parts = [24, 16, 8, 0].slice(0, octets).map((shift) => Math.floor(base / 2 ** shift) % 256);
    zones.push(`${parts.reverse().join(".")}.in-addr.arpa`);
  }
  return zones;
}
