import { z } from "zod";
import { NodeRole, NodeName } from "./roles.js";
import { Ipv4Cidr, parseCidr, cidrsOverlap, Ipv4 } from "./net.js";
import { DEFAULT_KUBERNETES_VERSION, minorSupport, SUPPORTED_MINORS } from "./versions.js";
import { UserError } from "./errors.js";
import { AwsProvider, AzureProvider, GcpProvider, OpenStackProvider } from "./cloud-provider.js";

/**
 * `cluster.yaml`: what the user asks for. Every field has a default where one is sensible, so
 * the smallest valid file is `name: demo`. Cross-field rules (roles, CIDR overlaps, storage
 * replication) live in `superRefine` so their errors name the offending field.
 */

/** A positive duration: a token that lives 0 seconds could never be used. */
const Duration = z.string().regex(/^[1-9]\d*(s|m|h|d)$/, "must be a positive duration like 30s, 15m, 2h or 1d");

export const NodeGroup = z.strictObject({
  name: NodeName,
  roles: z.array(NodeRole).min(1).refine((r) => new Set(r).size === r.length, "roles must not repeat"),
  count: z.number().int().min(0).max(5000),
  /** Per-node resources for providers that create machines. */
  cpus: z.number().int().positive().optional(),
  memoryMiB: z.number().int().positive().optional(),
});
export type NodeGroup = z.infer<typeof NodeGroup>;

export const Networks = z
  .strictObject({
    /** Addresses of the nodes themselves (local provider: the bridge subnet). */
    nodeCidr: Ipv4Cidr.default("10.240.0.0/24"),
    podCidr: Ipv4Cidr.default("10.244.0.0/16"),
    /** Each node gets one pod subnet of this size out of `podCidr`. */
    podCidrMaskSize: z.number().int().min(16).max(28).default(24),
    serviceCidr: Ipv4Cidr.default("10.96.0.0/12"),
    clusterDomain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).default("cluster.local"),
  })
  .prefault({});

export const Storage = z
  .strictObject({
    /** GlusterFS replica count: each file lives on this many storage nodes. At most the number of storage nodes, which must be a multiple of it. */
    replication: z.number().int().min(1).max(16).default(1),
    /** Size of each storage node's volume (the local provider's disk; clouds' block volumes). */
    volumeSizeGiB: z.number().int().min(1).max(65536).default(10),
    /**
     * The block device attached to every storage node for its brick, formatted (XFS) only when it
     * holds no filesystem or partition table. `none`: the brick lives on the root filesystem.
     */
    device: z.union([z.literal("none"), z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, "must be a /dev path or none")]).default("/dev/vdb"),
    /** The GlusterFS volume's name. */
    volumeName: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a lowercase name (letters, digits, -)").default("sprout-shared"),
    /** Where service nodes mount the volume. */
    mountPath: z.string().regex(/^\/[^\0]*[^/]$/, "must be an absolute path").default("/mnt/sprout-shared"),
  })
  .prefault({});

export const Edge = z
  .strictObject({
    /** Host names are `<name>.<baseDomain>`; default is `<edge-ip>.nip.io`. */
    baseDomain: z
      .string()
      .regex(/^(?=.{1,200}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/, "must be a lowercase DNS name with at least one dot, like lab.example.org")
      .optional(),
    /**
     * Ports edge nodes accept from outside the cluster's own networks (TCP); everything else from
     * outside is dropped, NodePorts included. SSH, HTTP and HTTPS by default.
     */
    openPorts: z.array(z.number().int().min(1).max(65535)).max(32).default([22, 80, 443]),
    /**
     * Ports LoadBalancer Services may take on the edge addresses, `FROM-TO`. The default stays
     * below the NodePort range (30000-32767), which kube-proxy opens on every address.
     */
    loadBalancerPorts: z
      .string()
      .regex(/^\d{1,5}-\d{1,5}$/, "must be a port range FROM-TO, like 1024-29999")
      .refine((r) => {
        const { from, to } = parsePortRange(r);
        return from >= 1 && to <= 65535 && from <= to;
      }, "must be FROM-TO with 1 <= FROM <= TO <= 65535")
      .default("1024-29999"),
    /** Your own certificate and key (PEM) for HTTPS, paths relative to the deployment directory; default: one from the cluster CA. */
    tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
    /**
     * Clouds: A records `<baseDomain>` and `*.<baseDomain>` for the edge nodes' public addresses,
     * in the cloud's own DNS (Route 53, Cloud DNS, Azure DNS, Designate), as KubeNow did with
     * Cloudflare. `zone`: the hosted zone ID (AWS), managed zone name (GCP), zone name (Azure,
     * with its resourceGroup) or zone ID (OpenStack).
     */
    dns: z
      .strictObject({
        zone: z.string().min(1).max(255).regex(/^[A-Za-z0-9._/-]+$/, "must be a zone name or ID"),
        resourceGroup: z.string().min(1).max(90).optional(),
        ttl: z.number().int().min(30).max(86400).default(300),
      })
      .optional(),
  })
  .prefault({});

/** `FROM-TO` (edge.loadBalancerPorts) as numbers. */
export function parsePortRange(range: string): { from: number; to: number } {
  const [from, to] = range.split("-").map(Number) as [number, number];
  return { from, to };
}

/** Cluster DNS: Unbound on every node, at the cluster DNS address (docs/cluster-dns.md). */
export const ClusterDns = z
  .strictObject({
    /** Where names outside the cluster are resolved; empty: each node's own resolvers (its resolv.conf). */
    upstreams: z.array(Ipv4).max(3, "at most 3 upstreams, as resolv.conf takes").default([]),
  })
  .prefault({});

export const EgressProxy = z.strictObject({
  httpProxy: z.url().optional(),
  httpsProxy: z.url().optional(),
  /** Added to the NO_PROXY Sprout derives from the cluster's own networks and names. */
  noProxy: z.array(z.string()).default([]),
});

/** A machine the ssh provider turns into a node: how to reach it over SSH and which roles it takes. */
export const SshHost = z.strictObject({
  /** Where SSH reaches the host (an address or a DNS name). */
  address: z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/, "must be an IPv4 address or a host name"),
  port: z.number().int().min(1).max(65535).default(22),
  /** Login user; anyone but root runs Sprout's install with passwordless sudo. */
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name").default("root"),
  /** Private key (OpenSSH or PEM), relative to the deployment directory or absolute; default: ~/.ssh/id_ed25519, then ~/.ssh/id_rsa. */
  keyFile: z.string().min(1).optional(),
  /** The host key's OpenSSH fingerprint (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host). Without it, known_hosts must list the host. */
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, "must be an OpenSSH fingerprint like SHA256:…(43 base64 characters)").optional(),
  roles: z.array(NodeRole).min(1).refine((r) => new Set(r).size === r.length, "roles must not repeat"),
  /** Node name; default `<first role>-<n>` (master-1, service-2, …). */
  name: NodeName.optional(),
});
export type SshHost = z.infer<typeof SshHost>;

export const Provider = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("local") }),
  z.strictObject({
    type: z.literal("ssh"),
    /** known_hosts for hosts without a pinned hostKey (default ~/.ssh/known_hosts). */
    knownHosts: z.string().min(1).optional(),
    hosts: z.array(SshHost).min(1, "list at least one host"),
  }),
  OpenStackProvider,
  AwsProvider,
  GcpProvider,
  AzureProvider,
]);

export const CoordinatorOptions = z
  .strictObject({
    /** Where the coordinator listens. */
    listen: z.string().regex(/^[^:]+:\d{1,5}$/, "must be host:port").default("127.0.0.1:7443"),
    /** Extra names/addresses in the coordinator's serving certificate (what agents dial). */
    advertise: z.array(z.string()).default([]),
    joinRateLimit: z
      .strictObject({ perSecond: z.number().positive().default(50), burst: z.number().int().positive().default(200) })
      .prefault({}),
    tokenTtl: Duration.default("2h"),
  })
  .prefault({});

export const ClusterSpec = z
  .strictObject({
    apiVersion: z.literal("sprout.dev/v1alpha1").default("sprout.dev/v1alpha1"),
    kind: z.literal("Cluster").default("Cluster"),
    name: NodeName,
    kubernetesVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, "must be a full version like 1.20.2")
      .refine((v) => minorSupport(v) !== undefined, {
        message: `unsupported Kubernetes minor; supported: ${Object.keys(SUPPORTED_MINORS).join(", ")}`,
      })
      .default(DEFAULT_KUBERNETES_VERSION),
    provider: Provider.default({ type: "local" }),
    /** The image the nodes must boot; the coordinator refuses agents reporting another version. */
    imageVersion: z.string().optional(),
    /** API server endpoint; defaults to the first master's address once it joins. */
    controlPlaneEndpoint: Ipv4.optional(),
    networks: Networks,
    nodeGroups: z
      .array(NodeGroup)
      .min(1)
      .default([
        { name: "master", roles: ["master", "edge"], count: 1 },
        { name: "service", roles: ["service"], count: 2 },
      ]),
    storage: Storage,
    edge: Edge,
    dns: ClusterDns,
    egressProxy: EgressProxy.optional(),
    coordinator: CoordinatorOptions,
  })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.nodeGroups.forEach((g, i) => {
      if (names.has(g.name)) ctx.addIssue({ code: "custom", path: ["nodeGroups", i, "name"], message: `duplicate node group name "${g.name}"` });
      names.add(g.name);
    });
    if (spec.provider.type === "ssh") checkSshHosts(spec.provider.hosts, ctx);
    if (spec.edge.dns) {
      if (!spec.edge.baseDomain) ctx.addIssue({ code: "custom", path: ["edge", "dns"], message: "edge.dns needs edge.baseDomain: the records are <baseDomain> and *.<baseDomain>" });
      if (spec.provider.type === "local" || spec.provider.type === "ssh") ctx.addIssue({ code: "custom", path: ["edge", "dns"], message: `edge.dns is rendered into a cloud's main.tf; provider ${spec.provider.type} has none` });
      if (spec.provider.type === "azure" && !spec.edge.dns.resourceGroup) ctx.addIssue({ code: "custom", path: ["edge", "dns", "resourceGroup"], message: "Azure DNS zones live in a resource group: name it" });
    }
    const counts = roleCounts(spec);
    const count = (role: string) => counts[role] ?? 0;
    if (count("master") < 1) ctx.addIssue({ code: "custom", path: spec.provider.type === "ssh" ? ["provider", "hosts"] : ["nodeGroups"], message: "at least one node with role master is required" });
    const storageNodes = count("storage");
    if (storageNodes > 0 && spec.storage.replication > storageNodes) {
      ctx.addIssue({ code: "custom", path: ["storage", "replication"], message: `replication ${spec.storage.replication} is larger than the number of storage nodes (${storageNodes})` });
    } else if (storageNodes > 0 && storageNodes % spec.storage.replication !== 0) {
      ctx.addIssue({ code: "custom", path: ["storage", "replication"], message: `the number of storage nodes (${storageNodes}) must be a multiple of replication ${spec.storage.replication}: GlusterFS groups bricks in replica sets of equal size` });
    }
    const nets = spec.networks;
    const pairs: [keyof typeof nets, keyof typeof nets][] = [["podCidr", "serviceCidr"], ["podCidr", "nodeCidr"], ["serviceCidr", "nodeCidr"]];
    for (const [a, b] of pairs) {
      const ca = parseCidr(String(nets[a]));
      const cb = parseCidr(String(nets[b]));
      if (ca && cb && cidrsOverlap(ca, cb)) ctx.addIssue({ code: "custom", path: ["networks", a], message: `${nets[a]} overlaps ${b} ${nets[b]}` });
    }
    const pod = parseCidr(nets.podCidr);
    if (pod && nets.podCidrMaskSize < pod.prefix) {
      ctx.addIssue({ code: "custom", path: ["networks", "podCidrMaskSize"], message: `must be at least the prefix of podCidr (/${pod.prefix})` });
    }
  });

export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type ClusterSpecInput = z.input<typeof ClusterSpec>;

/**
 * Parses "30s"/"15m"/"2h"/"1d" into milliseconds. CLI flags (`--ttl`) come straight here, so bad
 * text is a UserError: exit code 2 and a message saying what would have been accepted.
 */
export function durationMs(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new UserError(`not a duration: "${text}" (use a whole number and a unit s, m, h or d, like 30s, 15m, 2h or 1d)`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** Total nodes the spec asks for, per role. */
export function roleCounts(spec: Pick<ClusterSpec, "provider" | "nodeGroups">): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of planNodes(spec)) for (const r of n.roles) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** The nodes a spec asks for, in order, each with its name, group and roles. */
export interface PlannedNode {
  name: string;
  group: string;
  roles: NodeRole[];
}

/**
 * The one list of nodes every part works from. Machines a provider creates come from the node
 * groups, named `<group>-<n>`. Existing machines (the ssh provider) are the listed hosts: a host
 * without a name is `<first role>-<n>`, counted per role, and forms a group of its roles.
 */
export function planNodes(spec: Pick<ClusterSpec, "provider" | "nodeGroups">): PlannedNode[] {
  if (spec.provider.type === "ssh") {
    const seen = new Map<string, number>();
    return spec.provider.hosts.map((h) => {
      const first = h.roles[0]!;
      const n = (seen.get(first) ?? 0) + 1;
      seen.set(first, n);
      return { name: h.name ?? `${first}-${n}`, group: h.roles.join("+"), roles: h.roles };
    });
  }
  return spec.nodeGroups.flatMap((g) => Array.from({ length: g.count }, (_, i) => ({ name: `${g.name}-${i + 1}`, group: g.name, roles: g.roles })));
}

/** Hosts: unique node names and unique SSH endpoints, so no machine is configured twice. */
function checkSshHosts(hosts: SshHost[], ctx: z.RefinementCtx): void {
  const names = planNodes({ provider: { type: "ssh", hosts }, nodeGroups: [] }).map((n) => n.name);
  const endpoints = hosts.map((h) => `${h.address}:${h.port}`);
  hosts.forEach((h, i) => {
    if (names.indexOf(names[i]!) !== i) ctx.addIssue({ code: "custom", path: ["provider", "hosts", i, "name"], message: `node name "${names[i]}" is used by hosts[${names.indexOf(names[i]!)}] too` });
    if (endpoints.indexOf(endpoints[i]!) !== i) ctx.addIssue({ code: "custom", path: ["provider", "hosts", i, "address"], message: `${endpoints[i]} is listed twice (hosts[${endpoints.indexOf(endpoints[i]!)}])` });
  });
}
