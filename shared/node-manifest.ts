import { z } from "zod";
import { NodeRole, NodeName } from "./roles.js";
import { Ipv4, Ipv4Cidr } from "./net.js";

/**
 * What one node must become. Rendered by the coordinator per node and versioned by `revision`
 * (bumped whenever the rendered content changes); the agent's builders turn it into steps.
 * It carries data, not rendered config files: the agent renders files per Kubernetes minor.
 */
export const ManifestFile = z.object({
  path: z.string().regex(/^\/[^\0]*$/),
  content: z.string(),
  mode: z.number().int().min(0).max(0o7777).default(0o644),
});

export const NodeManifest = z.object({
  apiVersion: z.literal("sprout.dev/v1alpha1"),
  kind: z.literal("NodeManifest"),
  revision: z.number().int().positive(),
  cluster: z.object({
    name: z.string(),
    kubernetesVersion: z.string(),
    clusterDomain: z.string(),
    podCidr: Ipv4Cidr,
    serviceCidr: Ipv4Cidr,
    /** Cluster DNS service address (10th address of the service CIDR, as kubeadm does). */
    dnsServiceIp: Ipv4,
    /** `https://<ip>:6443`, or undefined until a master has joined. */
    apiServerEndpoint: z.string().optional(),
  }),
  node: z.object({
    name: NodeName,
    roles: z.array(NodeRole).min(1),
    addresses: z.array(Ipv4).min(1),
    podCidr: Ipv4Cidr,
  }),
  /** The other nodes: where their pods live, for routes between nodes' pod networks. */
  peers: z.array(z.object({ name: NodeName, address: Ipv4, podCidr: Ipv4Cidr })).default([]),
  /**
   * Files the coordinator supplies verbatim (CA certificates, kubeconfigs). Never private keys of
   * the cluster's own: nodes make theirs. The one exception is a user-supplied edge certificate's
   * key (`edge.tls`), sent only to edge nodes.
   */
  files: z.array(ManifestFile),
  kernel: z.object({
    modules: z.array(z.string()),
    sysctls: z.record(z.string(), z.string()),
  }),
  containerd: z.object({
    sandboxImage: z.string(),
    /** Images the node image ships as OCI archives, imported offline. */
    preloadedImages: z.array(z.string()).default([]),
    /**
     * Clamp containers' OOM score adjustments to containerd's own. Needed where nothing may
     * lower an OOM score (no CAP_SYS_RESOURCE, as in the local provider's node machines): the
     * CRI asks -998 for every pod sandbox, and runc would fail to start it.
     */
    restrictOomScoreAdj: z.boolean().default(false),
  }),
  kubelet: z.object({
    maxPods: z.number().int().positive(),
    /** Labels applied at registration (role labels). */
    nodeLabels: z.record(z.string(), z.string()),
    registerWithTaints: z.array(z.object({ key: z.string(), value: z.string().optional(), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) })),
  }),
  /** The cluster's shared GlusterFS volume, on nodes that serve or use it (storage, service, master). */
  storage: z
    .object({
      volume: z.string(),
      replication: z.number().int().positive(),
      /** Usable size: every storage node's volume, divided by the replica count. */
      capacityGiB: z.number().int().positive(),
      /** Storage nodes that have joined, first-joined first: the volume's bricks, in replica sets. */
      servers: z.array(z.object({ name: NodeName, address: Ipv4 })),
      /** This node's brick (storage nodes): the device formatted and mounted at mountPath. */
      brick: z.object({ device: z.string().optional(), mountPath: z.string(), dir: z.string() }).optional(),
      /** This node creates the volume and adds bricks as storage nodes join (the first storage node). */
      formsVolume: z.boolean().default(false),
      /** Where this node mounts the volume (service nodes). */
      mountPath: z.string().optional(),
      /**
       * Where every service node has the volume mounted: Kubernetes 1.26+ dropped the in-tree
       * glusterfs plugin, so there the PersistentVolumes are hostPath volumes of this mount
       * (and of its read-only twin, `<sharedPath>-ro`), kept to service nodes.
       */
      sharedPath: z.string().optional(),
    })
    .optional(),
  /** The reverse proxy for Ingress objects (edge nodes; a master without edge nodes in the spec). */
  edge: z
    .object({
      baseDomain: z.string(),
      userTls: z.boolean().default(false),
      /** TCP ports open to sources outside `internalCidrs`; all other traffic from outside is dropped. */
      openPorts: z.array(z.number().int()).default([22, 80, 443]),
      internalCidrs: z.array(Ipv4Cidr).default([]),
      /** LoadBalancer Services: every edge node's address (their status), and the ports they may take. */
      loadBalancer: z
        .object({ addresses: z.array(Ipv4).default([]), ports: z.object({ from: z.number().int(), to: z.number().int() }) })
        .default({ addresses: [], ports: { from: 1024, to: 29999 } }),
    })
    .optional(),
  /** Cluster DNS on this node: where names outside the cluster go (empty: the node's resolvers). */
  dns: z.object({ upstreams: z.array(Ipv4).default([]) }).default({ upstreams: [] }),
  egressProxy: z
    .object({ httpProxy: z.string().optional(), httpsProxy: z.string().optional(), noProxy: z.string() })
    .optional(),
});
export type NodeManifest = z.infer<typeof NodeManifest>;
export type NodeManifestInput = z.input<typeof NodeManifest>;

/** Where an edge node keeps a user-supplied HTTPS certificate (`edge.tls` in cluster.yaml). */
export const EDGE_TLS = { cert: "/etc/sprout/edge/tls.crt", key: "/etc/sprout/edge/tls.key" } as const;

/** Well-known paths on a node; the agent and the coordinator's kubeconfig renderer agree on them. */
export const NODE_PATHS = {
  bootstrap: "/etc/sprout/bootstrap.yaml",
  imageVersion: "/etc/sprout/image-version",
  stateDir: "/var/lib/sprout",
  nodeKey: "/var/lib/sprout/pki/node.key",
  nodeCert: "/var/lib/sprout/pki/node.crt",
  caBundle: "/var/lib/sprout/pki/ca.crt",
  /** The last manifest the node received: it converges from it when the coordinator is away. */
  manifestCache: "/var/lib/sprout/manifest.json",
  /** The coordinator URL the node joined through; later runs talk to the same one. */
  coordinatorUrl: "/var/lib/sprout/coordinator-url",
  kubePki: "/etc/kubernetes/pki",
  kubeletKubeconfig: "/etc/kubernetes/kubelet.conf",
  kubeletConfig: "/var/lib/kubelet/config.yaml",
  containerdConfig: "/etc/containerd/config.toml",
} as const;
