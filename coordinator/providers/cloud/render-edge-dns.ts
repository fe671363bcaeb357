import { UserError } from "../../../shared/errors.js";
import { attrs, block, expr, type HclBody } from "./hcl.js";
import type { CloudPlan } from "./cloud-plan.js";

/**
 * `edge.dns`: the edge's names in the cloud's own DNS, as KubeNow did with Cloudflare. Two A
 * records for the edge nodes' public addresses: `<baseDomain>` and `*.<baseDomain>`, so every
 * Ingress host under the base domain (and the LoadBalancer Services behind the edge) resolves
 * with no step after `tofu apply`. `publicIpOf`: a node's public address in this cloud's terms.
 */
export function edgeDnsRecords(plan: CloudPlan, publicIpOf: (node: { name: string }) => string): HclBody {
  const dns = plan.edge.dns;
  const base = plan.edge.baseDomain;
  if (!dns || !base) return [];
  const addresses = plan.edge.nodes.map((name) => expr(publicIpOf({ name })));
  const names = [
    { id: "edge_apex", fqdn: base },
    { id: "edge_wildcard", fqdn: `*.${base}` },
  ];
  switch (plan.provider.type) {
    case "aws":
      return names.map((n) => block("resource", ["aws_route53_record", n.id], attrs({ zone_id: dns.zone, name: n.fqdn, type: "A", ttl: dns.ttl, records: addresses })));
    case "gcp":
      return names.map((n) => block("resource", ["google_dns_record_set", n.id], attrs({ managed_zone: dns.zone, name: `${n.fqdn}.`, type: "A", ttl: dns.ttl, rrdatas: addresses })));
    case "openstack":
      return names.map((n) => block("resource", ["openstack_dns_recordset_v2", n.id], attrs({ zone_id: dns.zone, name: `${n.fqdn}.`, type: "A", ttl: dns.ttl, records: addresses })));
    case "azure": {
      // Azure names records relative to their zone: lab.example.org in zone example.org is "lab".
      const zone = dns.zone.replace(/\.$/, "");
      if (base !== zone && !base.endsWith(`.${zone}`)) throw new UserError(`edge.dns.zone ${zone} does not hold edge.baseDomain ${base}: on Azure the zone must be the base domain or one of its parents`);
      const relative = base === zone ? "@" : base.slice(0, -(zone.length + 1));
      return names.map((n) =>
        block("resource", ["azurerm_dns_a_record", n.id], attrs({ name: n.id === "edge_apex" ? relative : relative === "@" ? "*" : `*.${relative}`, zone_name: zone, resource_group_name: dns.resourceGroup, ttl: dns.ttl, records: addresses })),
      );
    }
    default:
      return [];
  }
}
