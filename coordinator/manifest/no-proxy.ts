import type { ClusterSpec } from "../../shared/cluster-spec.js";
import type { NodeRecord } from "../state/records.js";

/**
 * NO_PROXY for nodes behind an egress proxy: traffic to the cluster's own networks and names
 * must never leave through the proxy (the API server, pods, services, the nodes themselves).
 */
export function noProxyFor(spec: ClusterSpec, node: NodeRecord): string {
  const entries = [
    "localhost",
    "127.0.0.1",
    // Cloud metadata services (AWS, OpenStack, GCP, Azure): the kubelet's cloud credential
    // providers ask them, and a proxy must never see those answers.
    "169.254.169.254",
    "metadata.google.internal",
    spec.networks.nodeCidr,
    spec.networks.podCidr,
    spec.networks.serviceCidr,
    `.svc`,
    `.${spec.networks.clusterDomain}`,
    node.name,
    ...node.addresses,
    ...(spec.egressProxy?.noProxy ?? []),
  ];
  return [...new Set(entries)].join(",");
}
