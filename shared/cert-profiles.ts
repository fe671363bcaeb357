import { z } from "zod";
import type { NodeRole } from "./roles.js";
import { nthAddress, parseCidr } from "./net.js";

/**
 * Certificates a node may ask the coordinator to sign after it joined, besides its own node
 * certificate. The node generates each key and sends only a CSR; the *profile* — not the CSR —
 * decides subject, SANs, usages and issuing CA, so a node can only ever obtain exactly what its
 * role needs (kubeadm's certificate list, minus the CAs, which stay on the coordinator).
 */
export const CertProfileName = z.enum([
  "kube-apiserver",
  "apiserver-kubelet-client",
  "apiserver-etcd-client",
  "front-proxy-client",
  "etcd-server",
  "etcd-peer",
  "kube-controller-manager",
  "kube-scheduler",
  "master-admin",
  "kube-proxy",
  "edge-server",
  "edge-controller",
  "node-roles",
  "cluster-dns",
  "metrics-server",
  "local-storage",
  "shared-storage",
]);
export type CertProfileName = z.infer<typeof CertProfileName>;

export type IssuingCa = "cluster" | "etcd" | "front-proxy";

export interface CertProfile {
  ca: IssuingCa;
  /** Roles allowed to request it. */
  roles: NodeRole[];
  usages: ("serverAuth" | "clientAuth")[];
  subject(node: ProfileNode): { commonName: string; organizations: string[] };
  sans(node: ProfileNode, cluster: ProfileCluster): { dnsNames: string[]; ips: string[] };
}

export interface ProfileNode {
  name: string;
  addresses: string[];
}

export interface ProfileCluster {
  serviceCidr: string;
  clusterDomain: string;
  /** `edge.baseDomain` from cluster.yaml; unset means `<edge address>.nip.io`. */
  edgeBaseDomain?: string;
}

/** The host names an edge node serves: `<name>.<base>`, base being the spec's or `<ip>.nip.io`. */
export function edgeBaseDomain(configured: string | undefined, edgeAddress: string): string {
  return configured ?? `${edgeAddress}.nip.io`;
}

/** The Service the metrics.k8s.io APIService points at (its Endpoints: the masters' metrics servers). */
export const METRICS_SERVICE = { namespace: "kube-system", name: "sprout-metrics", port: 443, targetPort: 4443 } as const;

const none = () => ({ dnsNames: [], ips: [] });
const nodeSans = (n: ProfileNode) => ({ dnsNames: [n.name, "localhost"], ips: [...n.addresses, "127.0.0.1"] });

/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export function apiServerServiceIp(serviceCidr: string): string {
  return nthAddress(parseCidr(serviceCidr)!, 1);
}

export const CERT_PROFILES: Record<CertProfileName, CertProfile> = {
  "kube-apiserver": {
    ca: "cluster",
    roles: ["master"],
    usages: ["serverAuth"],
    subject: () => ({ commonName: "kube-apiserver", organizations: [] }),
    sans: (n, c) => ({
      dnsNames: [n.name, "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${c.clusterDomain}`],
      ips: [...n.addresses, "127.0.0.1", apiServerServiceIp(c.serviceCidr)],
    }),
  },
  "apiserver-kubelet-client": { ca: "cluster", roles: ["master"], usages: ["clientAuth"], subject: () => ({ commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"] }), sans: none },
  "apiserver-etcd-client": { ca: "etcd", roles: ["master"], usages: ["clientAuth"], subject: () => ({ commonName: "kube-apiserver-etcd-client", organizations: [] }), sans: none },
  "front-proxy-client": { ca: "front-proxy", roles: ["master"], usages: ["clientAuth"], subject: () => ({ commonName: "front-proxy-client", organizations: [] }), sans: none },
  "etcd-server": { ca: "etcd", roles: ["master"], usages: ["serverAuth", "clientAuth"], subject: (n) => ({ commonName: n.name, organizations: [] }), sans: (n) => nodeSans(n) },
  "etcd-peer": { ca: "etcd", roles: ["master"], usages: ["serverAuth", "clientAuth"], subject: (n) => ({ commonName: n.name, organizations: [] }), sans: (n) => nodeSans(n) },
  "kube-controller-manager": { ca: "cluster", roles: ["master"], usages: ["clientAuth"], subject: () => ({ commonName: "system:kube-controller-manager", organizations: [] }), sans: none },
  "kube-scheduler": { ca: "cluster", roles: ["master"], usages: ["clientAuth"], subject: () => ({ commonName: "system:kube-scheduler", organizations: [] }), sans: none },
  // The master's agent applies cluster bootstrap objects (RBAC) with this identity.
  "master-admin": { ca: "cluster", roles: ["master"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:master:${n.name}`, organizations: ["system:masters"] }), sans: none },
  "kube-proxy": { ca: "cluster", roles: ["master", "service", "storage", "edge"], usages: ["clientAuth"], subject: () => ({ commonName: "system:kube-proxy", organizations: [] }), sans: none },
  // The edge's HTTPS certificate: every host under its base domain, and its own addresses. A
  // master may act as edge when the spec has no edge nodes (KubeNow's layout).
  "edge-server": {
    ca: "cluster",
    roles: ["edge", "master"],
    usages: ["serverAuth"],
    subject: (n) => ({ commonName: n.name, organizations: [] }),
    sans: (n, c) => {
      const base = edgeBaseDomain(c.edgeBaseDomain, n.addresses[0]!);
      return { dnsNames: [base, `*.${base}`, n.name], ips: n.addresses };
    },
  },
  // The edge's Ingress controller reads Ingresses and Services (RBAC: group sprout:edge).
  "edge-controller": { ca: "cluster", roles: ["edge", "master"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:edge:${n.name}`, organizations: ["sprout:edge"] }), sans: none },
  // The master's node-role labeller reads and labels Nodes (RBAC: group sprout:node-roles).
  "node-roles": { ca: "cluster", roles: ["master"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:node-roles:${n.name}`, organizations: ["sprout:node-roles"] }), sans: none },
  // Every node's cluster DNS feeder reads Services and EndpointSlices (RBAC: group sprout:cluster-dns).
  "cluster-dns": { ca: "cluster", roles: ["master", "service", "storage", "edge"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:cluster-dns:${n.name}`, organizations: ["sprout:cluster-dns"] }), sans: none },
  // Every node's local-volume provisioner makes PersistentVolumes for the claims placed on it
  // (RBAC: group sprout:local-storage).
  "local-storage": { ca: "cluster", roles: ["master", "service", "storage", "edge"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:local-storage:${n.name}`, organizations: ["sprout:local-storage"] }), sans: none },
  // The shared volume's provisioner makes PersistentVolumes and grows claims (RBAC: group
  // sprout:shared-storage): on the storage node that formed the volume, or on masters of a
  // cluster without storage nodes (to explain why claims wait).
  "shared-storage": { ca: "cluster", roles: ["master", "storage"], usages: ["clientAuth"], subject: (n) => ({ commonName: `sprout:shared-storage:${n.name}`, organizations: ["sprout:shared-storage"] }), sans: none },
  // The master's metrics.k8s.io server: serves the API server's aggregator under its Service's
  // name (verified against the APIService's caBundle), and reads the kubelets and the API with
  // the same identity (RBAC: group sprout:metrics).
  "metrics-server": {
    ca: "cluster",
    roles: ["master"],
    usages: ["serverAuth", "clientAuth"],
    subject: (n) => ({ commonName: `sprout:metrics:${n.name}`, organizations: ["sprout:metrics"] }),
    sans: (n, c) => ({ dnsNames: [`${METRICS_SERVICE.name}.${METRICS_SERVICE.namespace}.svc`, `${METRICS_SERVICE.name}.${METRICS_SERVICE.namespace}.svc.${c.clusterDomain}`], ips: n.addresses }),
  },
};

export const SignRequest = z.object({
  profile: CertProfileName,
  /** PEM PKCS#10; only its public key and signature are used. */
  csr: z.string().min(100).max(16384),
});
export type SignRequest = z.infer<typeof SignRequest>;

export const SignResponse = z.object({
  certificate: z.string(),
  /** The issuing CA's certificate (cluster, etcd or front-proxy CA). */
  caCertificate: z.string(),
});
export type SignResponse = z.infer<typeof SignResponse>;
