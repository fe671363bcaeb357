import { createHash } from "node:crypto";
import { parsePortRange, planNodes, roleCounts, type ClusterSpec } from "../../shared/cluster-spec.js";
import { EDGE_TLS, NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import { nthAddress, parseCidr } from "../../shared/net.js";
import { masterRoleLabel, minorSupport } from "../../shared/versions.js";
import type { NodeRecord } from "../state/records.js";
import { renderKubeconfig } from "../../shared/kubeconfig.js";
import { noProxyFor } from "./no-proxy.js";
import { renderStorage } from "./storage-manifest.js";
import { edgeBaseDomain } from "../../shared/cert-profiles.js";

/** Everything outside the node record that shapes its manifest. */
export interface ClusterFacts {
  caCertPem: string;
  /** Masters verify their etcd and front-proxy identities against these. */
  etcdCaCertPem: string;
  frontProxyCaCertPem: string;
  /** `https://<ip>:6443` once known (spec or first master). */
  apiServerEndpoint?: string;
  /** Every joined node (a node's own entry is left out of its peers). */
  nodes: { name: string; address: string; podCidr: string }[];
  /** The addresses of the joined nodes that act as edge: LoadBalancer Services get them all. */
  edgeAddresses: string[];
  /** Storage nodes that joined, in join order. */
  storageServers: { name: string; address: string }[];
  /** The user's certificate and key for the edge's HTTPS (`edge.tls`), if any. */
  edgeTls?: { certPem: string; keyPem: string };
}

export type ManifestBody = Omit<NodeManifest, "revision">;

/** Renders the manifest body for one node; the revision is assigned by `ManifestService`. */
export function renderManifestBody(spec: ClusterSpec, node: NodeRecord, facts: ClusterFacts): ManifestBody {
  const service = parseCidr(spec.networks.serviceCidr)!;
  const dnsServiceIp = nthAddress(service, 10);
  const support = minorSupport(spec.kubernetesVersion)!;
  const files: NodeManifest["files"] = [{ path: `${NODE_PATHS.kubePki}/ca.crt`, content: facts.caCertPem, mode: 0o644 }];
  if (node.roles.includes("master")) {
    files.push(
      { path: `${NODE_PATHS.kubePki}/etcd/ca.crt`, content: facts.etcdCaCertPem, mode: 0o644 },
      { path: `${NODE_PATHS.kubePki}/front-proxy-ca.crt`, content: facts.frontProxyCaCertPem, mode: 0o644 },
    );
  }
  if (facts.apiServerEndpoint) {
    files.push({
      path: NODE_PATHS.kubeletKubeconfig,
      mode: 0o600,
      content: renderKubeconfig({
        clusterName: spec.name,
        server: facts.apiServerEndpoint,
        user: `system:node:${node.name}`,
        ca: { file: `${NODE_PATHS.kubePki}/ca.crt` },
        client: { certFile: NODE_PATHS.nodeCert, keyFile: NODE_PATHS.nodeKey },
      }),
    });
  }
  if (facts.edgeTls && actsAsEdge(spec, node)) {
    // The one private key a manifest carries: the user's own, for the edge only (mTLS, 0600).
    files.push({ path: EDGE_TLS.cert, content: facts.edgeTls.certPem, mode: 0o644 }, { path: EDGE_TLS.key, content: facts.edgeTls.keyPem, mode: 0o600 });
  }
  const nodeLabels: Record<string, string> = {};
  // Not `node-role.kubernetes.io/<role>`: since 1.16 the kubelet refuses to start when
  // --node-labels holds a kubernetes.io label outside its allowed set, and NodeRestriction would
  // reject it anyway. Role labels in the reserved namespace must be applied by an admin client.
  for (const role of node.roles) nodeLabels[`sprout.dev/role-${role}`] = "";
  nodeLabels["sprout.dev/cluster"] = spec.name;
  return {
    apiVersion: "sprout.dev/v1alpha1",
    kind: "NodeManifest",
    cluster: {
      name: spec.name,
      kubernetesVersion: spec.kubernetesVersion,
      clusterDomain: spec.networks.clusterDomain,
      podCidr: spec.networks.podCidr,
      serviceCidr: spec.networks.serviceCidr,
      dnsServiceIp,
      apiServerEndpoint: facts.apiServerEndpoint,
    },
    node: { name: node.name, roles: node.roles, addresses: node.addresses, podCidr: node.podCidr },
    peers: facts.nodes.filter((n) => n.name !== node.name),
    files,
    kernel: {
      // What kube-proxy (iptables mode) and bridge CNI need from the kernel.
      modules: ["overlay", "br_netfilter"],
      sysctls: {
        "net.ipv4.ip_forward": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
      },
    },
    containerd: { sandboxImage: support.pauseImage, preloadedImages: [], restrictOomScoreAdj: spec.provider.type === "local" || node.facts.oomScoreAdjRestricted },
    kubelet: {
      maxPods: 110,
      nodeLabels,
      // Masters keep workloads off unless they are the only nodes.
      registerWithTaints: node.roles.includes("master") && planNodes(spec).some((n) => !n.roles.includes("master"))
        ? [{ key: masterRoleLabel(spec.kubernetesVersion), effect: "NoSchedule" }]
        : [],
    },
    storage: renderStorage(spec, node, facts.storageServers),
    edge: actsAsEdge(spec, node)
      ? {
          baseDomain: edgeBaseDomain(spec.edge.baseDomain, node.addresses[0]!),
          userTls: facts.edgeTls !== undefined,
          openPorts: spec.edge.openPorts,
          internalCidrs: [spec.networks.nodeCidr, spec.networks.podCidr],
          loadBalancer: { addresses: facts.edgeAddresses, ports: parsePortRange(spec.edge.loadBalancerPorts) },
        }
      : undefined,
    dns: { upstreams: spec.dns.upstreams },
    egressProxy: spec.egressProxy
      ? {
          httpProxy: spec.egressProxy.httpProxy,
          httpsProxy: spec.egressProxy.httpsProxy,
          noProxy: noProxyFor(spec, node),
        }
      : undefined,
  };
}

/** Edge nodes, and masters when the spec has no edge nodes (KubeNow: the master acts as edge). */
export function actsAsEdge(spec: ClusterSpec, node: NodeRecord): boolean {
  if (node.roles.includes("edge")) return true;
  return node.roles.includes("master") && !(roleCounts(spec)["edge"] ?? 0);
}

/** Stable hash of a manifest body: key order fixed by the renderer, undefined fields dropped. */
export function manifestHash(body: ManifestBody): string {
  return `sha256:${createHash("sha256").update(JSON.stringify(body)).digest("hex")}`;
}

