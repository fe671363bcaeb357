import { ApiError } from "../../shared/errors.js";
import { cidrContains, parseCidr } from "../../shared/net.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { isCloudProvider } from "../../shared/cloud-provider.js";
import { planCloud } from "../providers/cloud/cloud-plan.js";

/**
 * Which addresses and names a node may put in its certificate. A node certificate is signed by
 * the cluster CA, so a node must never obtain one for an address or name that identifies
 * something else: the coordinator, loopback, a Service or pod address, or the API server's
 * in-cluster names.
 */
const RESERVED_NAMES = new Set(["localhost", "kubernetes", "sprout-coordinator"]);

const NOT_UNICAST = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"].map((c) => parseCidr(c)!);

export function checkNodeName(name: string): void {
  if (RESERVED_NAMES.has(name)) throw new ApiError(400, "node_name_reserved", `node name "${name}" is reserved; choose another`);
}

export function checkNodeAddresses(spec: ClusterSpec, coordinatorAddresses: ReadonlySet<string>, addresses: string[], nodeName?: string): void {
  const ranges: [string, string][] = [
    ["podCidr", spec.networks.podCidr],
    ["serviceCidr", spec.networks.serviceCidr],
  ];
  for (const ip of addresses) {
    if (NOT_UNICAST.some((c) => cidrContains(c, ip))) forbid(ip, "is not a unicast host address");
    if (coordinatorAddresses.has(ip) && !hostsCoordinator(spec, nodeName, ip)) forbid(ip, "belongs to the coordinator");
    for (const [field, cidr] of ranges) if (cidrContains(parseCidr(cidr)!, ip)) forbid(ip, `is inside networks.${field} ${cidr}`);
    // The local provider hands out node addresses itself, all inside nodeCidr.
    if (spec.provider.type === "local" && !cidrContains(parseCidr(spec.networks.nodeCidr)!, ip)) {
      forbid(ip, `is outside networks.nodeCidr ${spec.networks.nodeCidr}`);
    }
  }
}

function forbid(ip: string, why: string): never {
  throw new ApiError(403, "address_forbidden", `address ${ip} ${why}; a node may not claim it`);
}

/**
 * On a cloud the coordinator runs on the master, at the master's fixed private address: that one
 * node (its name is bound to its token) is the machine behind the address and already holds the
 * cluster CA, so it may claim it. Every other node still may not.
 */
function hostsCoordinator(spec: ClusterSpec, nodeName: string | undefined, ip: string): boolean {
  if (!nodeName || !isCloudProvider(spec)) return false;
  const { master } = planCloud(spec);
  return master.name === nodeName && master.privateIp === ip;
}
