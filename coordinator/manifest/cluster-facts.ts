import type { ClusterSpec } from "../../shared/cluster-spec.js";
import type { ClusterPki } from "../pki/cluster-pki.js";
import type { NodeRecord } from "../state/records.js";
import { actsAsEdge, type ClusterFacts } from "./render-manifest.js";
import { storageServers } from "./storage-manifest.js";

/**
 * What every node's manifest is rendered from besides its own record, given the nodes known so
 * far (the coordinator: those that joined; the push baseline's workstation: its inventory).
 */
export function clusterFactsOf(spec: ClusterSpec, pki: ClusterPki, nodes: readonly NodeRecord[], edgeTls?: ClusterFacts["edgeTls"]): ClusterFacts {
  return {
    nodes: nodes.map((n) => ({ name: n.name, address: n.addresses[0]!, podCidr: n.podCidr })),
    storageServers: storageServers(nodes),
    edgeAddresses: nodes.filter((n) => actsAsEdge(spec, n)).map((n) => n.addresses[0]!),
    caCertPem: pki.caCertPem,
    etcdCaCertPem: pki.etcdCa.certPem,
    frontProxyCaCertPem: pki.frontProxyCa.certPem,
    apiServerEndpoint: apiServerEndpointOf(spec, nodes),
    edgeTls,
  };
}

/** The spec's endpoint, else the first master among the nodes. */
export function apiServerEndpointOf(spec: ClusterSpec, nodes: readonly NodeRecord[]): string | undefined {
  if (spec.controlPlaneEndpoint) return `https://${spec.controlPlaneEndpoint}:6443`;
  const master = nodes.find((n) => n.roles.includes("master"));
  return master ? `https://${master.addresses[0]}:6443` : undefined;
}
