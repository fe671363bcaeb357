import { isIPv4 } from "node:net";
import { SERVICE_NAME_LABEL, type DnsEndpointSlice, type DnsService } from "./dns-objects.js";

/**
 * The cluster's DNS records, computed from Services and EndpointSlices as the Kubernetes
 * "DNS-Based Service Discovery" specification describes them (kubernetes/dns
 * docs/specification.md, schema 1.1.0):
 * - a ClusterIP Service: `<svc>.<ns>.svc.<zone>` A, SRV for each named port, PTR for its IP;
 * - a headless Service: an A record per ready endpoint at the Service's name and at the
 *   endpoint's own name (`<hostname>` when the pod has one, as StatefulSet pods do, else its
 *   dashed address), SRV records naming those, and PTRs back to them;
 * - an ExternalName Service: a CNAME to its target (`redirects`: the DNS server follows it), or,
 *   when the target is a name inside the cluster zone, that name's addresses.
 * Pod records (`a-b-c-d.<ns>.pod.<zone>`) are synthesized by the server itself (pod-records.py).
 *
 * Everything here ends up in the DNS server's configuration, so every name and value is checked
 * against what the API server itself allows; an object that does not fit is skipped with a
 * reason, and never breaks the records of others.
 */
export interface ClusterRecords {
  /** `name TTL IN TYPE rdata` lines, sorted and without duplicates. */
  records: string[];
  /** ExternalName Services whose target lies outside the cluster: a CNAME the server follows. */
  redirects: { name: string; target: string }[];
  skipped: string[];
}

export interface RecordOptions {
  /** The cluster domain, e.g. `cluster.local`. */
  domain: string;
  ttl: number;
}

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** IANA service names (port names): at most 15 characters, a letter among them. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?)*$/;
const PROTOCOLS = new Set(["tcp", "udp", "sctp"]);

export function clusterRecords(services: DnsService[], slices: DnsEndpointSlice[], o: RecordOptions): ClusterRecords {
  const out = new Set<string>();
  const redirects: ClusterRecords["redirects"] = [];
  const skipped: string[] = [];
  const flatten: { name: string; target: string; ref: string }[] = [];
  const add = (name: string, type: string, data: string) => out.add(`${name}. ${o.ttl} IN ${type} ${data}`);
  const slicesByService = groupSlices(slices);

  for (const s of services) {
    const ref = `Service ${s.metadata.namespace}/${s.metadata.name}`;
    if (!LABEL.test(s.metadata.name) || !LABEL.test(s.metadata.namespace)) {
      skipped.push(`${ref}: the name is not a DNS label`);
      continue;
    }
    const fqdn = `${s.metadata.name}.${s.metadata.namespace}.svc.${o.domain}`;
    if (s.spec.type === "ExternalName") {
      const target = (s.spec.externalName ?? "").replace(/\.$/, "").toLowerCase();
      if (!HOST_NAME.test(target) || isIPv4(target)) {
        skipped.push(`${ref}: externalName ${JSON.stringify(s.spec.externalName ?? "")} is not a DNS name`);
      } else if (target === o.domain || target.endsWith(`.${o.domain}`)) {
        flatten.push({ name: fqdn, target, ref });
      } else {
        redirects.push({ name: fqdn, target });
      }
      continue;
    }
    const ports = s.spec.ports.flatMap((p) => {
      const proto = p.protocol.toLowerCase();
      if (!p.name) return [];
      if (!PORT_NAME.test(p.name) || !PROTOCOLS.has(proto) || !validPort(p.port)) {
        skipped.push(`${ref}: port ${JSON.stringify(p.name)} (${p.protocol} ${p.port}) has no SRV record: not a valid port name, protocol or number`);
        return [];
      }
      return [{ name: p.name, proto, port: p.port }];
    });
    if (s.spec.clusterIP === "None") {
      headlessRecords(s, fqdn, slicesByService.get(`${s.metadata.namespace}/${s.metadata.name}`) ?? [], add);
      continue;
    }
    const ip = s.spec.clusterIP;
    if (!ip || !isIPv4(ip)) continue; // not allocated yet, or IPv6 (not served)
    add(fqdn, "A", ip);
    add(reverseName(ip), "PTR", `${fqdn}.`);
    for (const p of ports) add(`_${p.name}._${p.proto}.${fqdn}`, "SRV", `0 100 ${p.port} ${fqdn}.`);
  }

  // ExternalName targets inside the cluster: the DNS server would look those up outside, so
  // the name gets the target's own addresses.
  for (const f of flatten) {
    const prefix = `${f.target}. ${o.ttl} IN A `;
    const addresses = [...out].filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
    if (addresses.length === 0) skipped.push(`${f.ref}: externalName ${f.target} has no address in the cluster`);
    for (const a of addresses) add(f.name, "A", a);
  }
  return { records: [...out].sort(), redirects: redirects.sort((a, b) => a.name.localeCompare(b.name)), skipped };
}

function headlessRecords(s: DnsService, fqdn: string, slices: DnsEndpointSlice[], add: (name: string, type: string, data: string) => void): void {
  for (const slice of slices) {
    if (slice.addressType !== "IPv4") continue;
    const targets: string[] = [];
    for (const e of slice.endpoints) {
      if (e.conditions.ready === false && !s.spec.publishNotReadyAddresses) continue;
      for (const ip of e.addresses.filter((a) => isIPv4(a))) {
        const label = e.hostname && LABEL.test(e.hostname) ? e.hostname : ip.replaceAll(".", "-");
        const name = `${label}.${fqdn}`;
        add(fqdn, "A", ip);
        add(name, "A", ip);
        add(reverseName(ip), "PTR", `${name}.`);
        targets.push(name);
      }
    }
    const weight = Math.max(1, Math.floor(100 / Math.max(1, targets.length)));
    for (const p of slice.ports) {
      const proto = (p.protocol ?? "TCP").toLowerCase();
      if (!p.name || !PORT_NAME.test(p.name) || !PROTOCOLS.has(proto) || !validPort(p.port ?? 0)) continue;
      for (const t of targets) add(`_${p.name}._${proto}.${fqdn}`, "SRV", `0 ${weight} ${p.port} ${t}.`);
    }
  }
}

function groupSlices(slices: DnsEndpointSlice[]): Map<string, DnsEndpointSlice[]> {
  const m = new Map<string, DnsEndpointSlice[]>();
  for (const sl of slices) {
    const svc = sl.metadata.labels[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${sl.metadata.namespace}/${svc}`;
    m.set(key, [...(m.get(key) ?? []), sl]);
  }
  return m;
}

const validPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** `10.96.0.1` → `1.0.96.10.in-addr.arpa` */
export function reverseName(ip: string): string {
  return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
}
