import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { renderControllerUnit } from "./controller-unit.js";
import { renderUnit } from "./systemd-unit.js";
import { renderUnboundConfig, UNBOUND_PATHS, UNBOUND_PYTHONPATH } from "../cluster-dns/unbound-config.js";
import { renderPodRecordsModule } from "../cluster-dns/pod-records-module.js";

export const DNS_SERVER_UNIT = "sprout-dns.service";
export const DNS_CONTROLLER_UNIT = "sprout-cluster-dns.service";
export const DNS_NETWORK_SCRIPT = "/usr/local/lib/sprout/cluster-dns-network.sh";
/**
 * The cluster DNS address sits on the loopback interface, labelled: not on a dummy interface as
 * NodeLocal DNSCache does, because not every kernel has the dummy driver (this machine's has
 * not), and a /32 on `lo` is just as local.
 */
export const DNS_ADDRESS_LABEL = "lo:sprout-dns";

/**
 * Cluster DNS, node-local like NodeLocal DNSCache: Debian's Unbound on every node answers that
 * node's pods at the cluster DNS address (kubelet clusterDNS), which sits on the node's loopback.
 * Queries to it are NOTRACK'ed, so kube-proxy's rules for the `kube-dns` Service never apply and
 * nothing crosses the network. Records come from the cluster-dns controller on the same node
 * (agent/cluster-dns/), from a watch on Services and EndpointSlices; names outside the cluster
 * go to the node's own resolvers. Unbound starts before the kubelet and serves its records from
 * disk, so after a reboot DNS answers before any pod starts again, with or without an API
 * server. See docs/cluster-dns.md for why Unbound.
 */
export function clusterDnsSteps(m: NodeManifest): StepInput[] {
  const dnsIp = m.cluster.dnsServiceIp;
  const config = renderUnboundConfig({
    domain: m.cluster.clusterDomain,
    listen: dnsIp,
    allow: [m.cluster.podCidr, ...m.node.addresses, dnsIp],
    reverseCidrs: [m.cluster.serviceCidr, m.cluster.podCidr],
  });
  const forwarders = ["/usr/local/bin/sprout-agent", "cluster-dns-forwarders", "--dns-ip", dnsIp, ...m.dns.upstreams.flatMap((u) => ["--upstream", u])];
  const steps: StepInput[] = [
    { id: "cluster-dns/data-dir", kind: "directory", description: "cluster DNS records directory", path: UNBOUND_PATHS.dataDir, mode: 0o755 },
    { id: "cluster-dns/config", kind: "file", description: "unbound configuration for cluster DNS", path: UNBOUND_PATHS.config, content: config, mode: 0o644 },
    { id: "cluster-dns/pod-module", kind: "file", description: "unbound's module for pod records", path: UNBOUND_PATHS.podModule, content: renderPodRecordsModule(m.cluster.clusterDomain), mode: 0o644 },
    { id: "cluster-dns/apparmor", kind: "file", description: "AppArmor: what unbound's Python module reads", path: UNBOUND_PATHS.apparmorLocal, content: APPARMOR_LOCAL, mode: 0o644 },
    { id: "cluster-dns/network-script", kind: "file", description: "the cluster DNS address on this node", path: DNS_NETWORK_SCRIPT, content: renderDnsNetworkScript(dnsIp), mode: 0o755 },
    // Debian's own instance would take 127.0.0.1:53 with the package's configuration.
    { id: "cluster-dns/debian-unbound", kind: "systemdUnit", description: "Debian's default unbound instance off", name: "unbound.service", enabled: false, state: "stopped" },
    {
      id: "cluster-dns/server",
      kind: "systemdUnit",
      description: `unbound answering at ${dnsIp}`,
      name: DNS_SERVER_UNIT,
      content: renderUnit({
        description: `Sprout cluster DNS: unbound at ${dnsIp} for this node's pods`,
        after: ["network.target"],
        before: ["kubelet.service", "nss-lookup.target"],
        service: [
          ["Type", "notify"],
          ["Restart", "always"],
          ["RestartSec", "1"],
          ["Environment", `PYTHONPATH=${UNBOUND_PYTHONPATH}`],
        ],
        execStartPre: [
          [DNS_NETWORK_SCRIPT],
          forwarders,
          // Where AppArmor confines unbound (clouds), its profile must take the local additions.
          ["-/bin/sh", "-c", "if [ -d /sys/kernel/security/apparmor ] && command -v apparmor_parser >/dev/null; then apparmor_parser -r /etc/apparmor.d/usr.sbin.unbound; fi"],
        ],
        execStart: [["/usr/sbin/unbound", "-d", "-p", "-c", UNBOUND_PATHS.config]],
        wantedBy: "multi-user.target",
      }),
      dependsOn: ["cluster-dns/data-dir", "cluster-dns/config", "cluster-dns/pod-module", "cluster-dns/apparmor", "cluster-dns/network-script", "cluster-dns/debian-unbound"],
      restartOnChangeOf: ["cluster-dns/config", "cluster-dns/pod-module", "cluster-dns/apparmor", "cluster-dns/network-script"],
    },
  ];
  const endpoint = m.cluster.apiServerEndpoint;
  if (endpoint) {
    steps.push({
      id: "cluster-dns/controller",
      kind: "systemdUnit",
      description: "the cluster DNS records feeder",
      name: DNS_CONTROLLER_UNIT,
      content: renderControllerUnit({
        description: "Sprout cluster DNS: unbound's records from the cluster's Services and EndpointSlices",
        after: [DNS_SERVER_UNIT],
        command: "cluster-dns",
        endpoint,
        profile: "cluster-dns",
        args: ["--domain", m.cluster.clusterDomain, "--kubernetes-version", m.cluster.kubernetesVersion, "--dns-ip", dnsIp, ...m.dns.upstreams.flatMap((u) => ["--upstream", u])],
      }),
      dependsOn: ["cluster-dns/server", "certs/cluster-dns"],
      restartOnChangeOf: ["certs/cluster-dns"],
    });
  }
  return steps;
}

const APPARMOR_LOCAL = `# Written by sprout-agent: Sprout's cluster DNS runs unbound with its Python module.
#include <abstractions/python>
/usr/lib/python3/dist-packages/** r,
`;

/**
 * The cluster DNS address on the loopback interface, and NodeLocal DNSCache's rules for it: queries
 * and answers skip conntrack, so kube-proxy's NAT for the kube-dns Service never applies and no
 * conntrack entry is spent per query. Idempotent; rules live in the kernel, so it runs at every
 * start of the DNS server.
 */
export function renderDnsNetworkScript(dnsIp: string): string {
  return [
    "#!/bin/sh",
    "# Written by sprout-agent from the node manifest; local edits are replaced.",
    "set -eu",
    `ip addr replace ${dnsIp}/32 dev lo label ${DNS_ADDRESS_LABEL}`,
    'rule() { table=$1; shift; iptables -w -t "$table" -C "$@" 2>/dev/null || iptables -w -t "$table" -I "$@"; }',
    "for proto in udp tcp; do",
    `  rule raw PREROUTING -d ${dnsIp}/32 -p "$proto" --dport 53 -j NOTRACK`,
    `  rule raw OUTPUT -d ${dnsIp}/32 -p "$proto" --dport 53 -j NOTRACK`,
    `  rule raw OUTPUT -s ${dnsIp}/32 -p "$proto" --sport 53 -j NOTRACK`,
    `  rule filter INPUT -d ${dnsIp}/32 -p "$proto" --dport 53 -j ACCEPT`,
    `  rule filter OUTPUT -s ${dnsIp}/32 -p "$proto" --sport 53 -j ACCEPT`,
    "done",
    "",
  ].join("\n");
}
