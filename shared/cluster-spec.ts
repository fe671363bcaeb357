import { z } from "zod";
import { NodeRole, NodeName } from "./roles.js";
import { Ipv4Cidr, parseCidr, cidrsOverlap, Ipv4 } from "./net.js";
import { DEFAULT_KUBERNETES_VERSION, minorSupport, SUPPORTED_MINORS } from "./versions.js";
import { UserError } from "./errors.js";

/**
 * `cluster.yaml`: what the user asks for. Every field has a default where one is sensible, so
 * the smallest valid file is `name: demo`. Cross-field rules (roles, CIDR overlaps, storage
 * replication) live in `superRefine` so their errors name the offending field.
 */

/** A positive duration: a token that lives 0 seconds could never be used. */
const Duration = z.string().regex(/^[1-9]\d*(s|m|h|d)$/, "must be a positive duration like 30s, 15m, 2h or 1d");

export const NodeGroup = z.object({
  name: NodeName,
  roles: z.array(NodeRole).min(1).refine((r) => new Set(r).size === r.length, "roles must not repeat"),
  count: z.number().int().min(0).max(5000),
  /** Per-node resources for providers that create machines. */
  cpus: z.number().int().positive().optional(),
  memoryMiB: z.number().int().positive().optional(),
});
export type NodeGroup = z.infer<typeof NodeGroup>;

export const Networks = z
  .object({
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
  .object({
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
  .object({
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
    /** Your own certificate and key (PEM) for HTTPS, paths relative to the deployment directory; default: one from the cluster CA. */
    tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  })
  .prefault({});

export const EgressProxy = z.object({
  httpProxy: z.url().optional(),
  httpsProxy: z.url().optional(),
  /** Added to the NO_PROXY Sprout derives from the cluster's own networks and names. */
  noProxy: z.array(z.string()).default([]),
});

export const Provider = z.discriminatedUnion("type", [
  z.object({ type: z.literal("local") }),
  z.object({ type: z.literal("ssh"), hosts: z.array(z.object({ address: z.string(), user: z.string().default("root"), keyFile: z.string().optional(), roles: z.array(NodeRole).min(1), name: NodeName.optional() })).default([]) }),
  z.object({ type: z.enum(["openstack", "aws", "gcp", "azure"]), region: z.string().optional() }).loose(),
]);

export const CoordinatorOptions = z
  .object({
    /** Where the coordinator listens. */
    listen: z.string().regex(/^[^:]+:\d{1,5}$/, "must be host:port").default("127.0.0.1:7443"),
    /** Extra names/addresses in the coordinator's serving certificate (what agents dial). */
    advertise: z.array(z.string()).default([]),
    joinRateLimit: z
      .object({ perSecond: z.number().positive().default(50), burst: z.number().int().positive().default(200) })
      .prefault({}),
    tokenTtl: Duration.default("2h"),
  })
  .prefault({});

export const ClusterSpec = z
  .object({
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
    egressProxy: EgressProxy.optional(),
    coordinator: CoordinatorOptions,
  })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.nodeGroups.forEach((g, i) => {
      if (names.has(g.name)) ctx.addIssue({ code: "custom", path: ["nodeGroups", i, "name"], message: `duplicate node group name "${g.name}"` });
      names.add(g.name);
    });
    const count = (role: string) => spec.nodeGroups.filter((g) => g.roles.includes(role as never)).reduce((n, g) => n + g.count, 0);
    if (count("master") < 1) ctx.addIssue({ code: "custom", path: ["nodeGroups"], message: "at least one node with role master is required" });
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
export function roleCounts(spec: ClusterSpec): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of spec.nodeGroups) for (const r of g.roles) out[r] = (out[r] ?? 0) + g.count;
  return out;
}
