/** The mangle-table chain the edge firewall jumps to before it drops traffic from outside. */
export const LB_CHAIN = "SPROUT-EDGE-LB";

/**
 * iptables-restore input that replaces the chain's rules in one commit (`--noflush` keeps every
 * other chain): one ACCEPT per open port, so a Service's port is reachable from outside exactly
 * while it is served.
 */
export function renderLbChain(open: { protocol: "tcp" | "udp"; port: number }[]): string {
  return ["*mangle", `:${LB_CHAIN} - [0:0]`, ...open.map((o) => `-A ${LB_CHAIN} -p ${o.protocol} -m ${o.protocol} --dport ${o.port} -j ACCEPT`), "COMMIT", ""].join("\n");
}
