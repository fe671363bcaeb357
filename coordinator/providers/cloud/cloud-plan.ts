import { parsePortRange, planNodes, type ClusterSpec, type PlannedNode } from "../../../shared/cluster-spec.js";
import { DEFAULT_MACHINE_TYPE, type CloudProvider } from "../../../shared/cloud-provider.js";
import { UserError } from "../../../shared/errors.js";
import { nthAddress, parseCidr } from "../../../shared/net.js";
import { parseListen } from "../../server/listen-address.js";
import { plannedPodCidr } from "../../manifest/pod-cidr.js";

/**
 * What a cloud cluster is made of, before any cloud's syntax: every VM with a fixed private
 * address in the node network (the master's is known before anything boots, so every node's
 * bootstrap file can name it), its machine type, whether it gets a public address (only the
 * master, where the CLI's SSH tunnel lands, and edge nodes, which serve HTTP/HTTPS), and the
 * block volume of storage nodes.
 */
export interface CloudNode extends PlannedNode {
  privateIp: string;
  /** Its pod subnet, known before it boots (the coordinator gives planned nodes their slot), for the cloud's routes. */
  podCidr: string;
  machineType: string;
  publicIp: boolean;
  volumeGiB?: number;
}

export interface CloudPlan {
  cluster: string;
  provider: CloudProvider;
  nodes: CloudNode[];
  master: CloudNode;
  nodeCidr: string;
  podCidr: string;
  /** The coordinator on the master: what agents dial. */
  coordinatorUrl: string;
  coordinatorPort: number;
  edge: {
    /** The nodes that act as edge (public addresses, DNS records). */
    nodes: string[];
    /** Open at the cloud firewall for LoadBalancer Services; the edge's own firewall opens only allocated ports. */
    loadBalancerPorts: { from: number; to: number };
    baseDomain?: string;
    dns?: { zone: string; resourceGroup?: string; ttl: number };
  };
}

/** Node addresses start here: every cloud reserves a few at the start of a subnet (AWS 4, Azure 4, GCP 2, OpenStack 1–2). */
const FIRST_HOST = 10;

export function planCloud(spec: ClusterSpec): CloudPlan {
  const provider = spec.provider;
  if (provider.type === "local" || provider.type === "ssh") throw new Error(`planCloud: provider ${provider.type} is not a cloud`);
  const cidr = parseCidr(spec.networks.nodeCidr)!;
  const planned = planNodes(spec);
  const capacity = 2 ** (32 - cidr.prefix) - FIRST_HOST - 1;
  if (planned.length > capacity) throw new UserError(`networks.nodeCidr ${spec.networks.nodeCidr} holds ${capacity} nodes from .${FIRST_HOST} on; the spec asks for ${planned.length}: use a larger node network`);
  const nodes = planned.map((n, i): CloudNode => ({
    ...n,
    privateIp: nthAddress(cidr, FIRST_HOST + i),
    podCidr: plannedPodCidr(spec.networks.podCidr, spec.networks.podCidrMaskSize, i),
    machineType: provider.machineTypes[n.group] ?? provider.machineType ?? DEFAULT_MACHINE_TYPE[provider.type],
    publicIp: n.roles.includes("master") || n.roles.includes("edge"),
    volumeGiB: n.roles.includes("storage") ? spec.storage.volumeSizeGiB : undefined,
  }));
  const master = nodes.find((n) => n.roles.includes("master"))!;
  const port = parseListen(spec.coordinator.listen, "coordinator.listen").port;
  const unknownGroups = Object.keys(provider.machineTypes).filter((g) => !spec.nodeGroups.some((ng) => ng.name === g));
  if (unknownGroups.length > 0) throw new UserError(`provider.machineTypes names no node group: ${unknownGroups.join(", ")} (groups: ${spec.nodeGroups.map((g) => g.name).join(", ")})`);
  return {
    cluster: spec.name,
    provider,
    nodes,
    master,
    nodeCidr: spec.networks.nodeCidr,
    podCidr: spec.networks.podCidr,
    coordinatorUrl: `https://${master.privateIp}:${port}`,
    coordinatorPort: port,
    edge: {
      // As actsAsEdge does for joined nodes: edge nodes, else the masters.
      nodes: (nodes.some((n) => n.roles.includes("edge")) ? nodes.filter((n) => n.roles.includes("edge")) : nodes.filter((n) => n.roles.includes("master"))).map((n) => n.name),
      loadBalancerPorts: parsePortRange(spec.edge.loadBalancerPorts),
      baseDomain: spec.edge.baseDomain,
      dns: spec.edge.dns,
    },
  };
}
