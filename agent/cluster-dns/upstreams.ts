import { isIPv4 } from "node:net";

/**
 * Where a node's own resolvers are listed: systemd-resolved's real upstreams when it runs (its
 * /etc/resolv.conf names only the 127.0.0.53 stub), else /etc/resolv.conf.
 */
export const RESOLV_CONF_FILES = ["/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"] as const;

/**
 * The upstreams cluster DNS forwards to: the nameservers of a resolv.conf, without loopback
 * addresses (a local stub would forward back to us, the kubeadm#1162 loop) and without the
 * cluster DNS address itself. IPv4 only, as the rest of the cluster.
 */
export function upstreamsFromResolvConf(text: string, exclude: string[] = []): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m?.[1];
    if (!ip || !isIPv4(ip) || ip.startsWith("127.") || ip === "0.0.0.0" || exclude.includes(ip) || out.includes(ip)) continue;
    out.push(ip);
  }
  return out;
}
