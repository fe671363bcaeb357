import type { CertProfileName } from "../../../shared/cert-profiles.js";
import { NODE_PATHS, type NodeManifest } from "../../../shared/node-manifest.js";
import { CA_PATHS, certificatePaths } from "../certificates.js";

/**
 * Where the control plane's files, binaries and ports are. The builder always uses the node's
 * layout (kubeadm's paths, standard ports). Every renderer takes a layout instead of hard-coding
 * paths, so the same renderer can produce a control plane that runs under a directory prefix on
 * other ports — which is how the smoke test starts the rendered command lines for real on a
 * machine that already has something on 2379 or 6443.
 */
export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  etcdMetrics: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
}

/** kubeadm's ports. */
export const DEFAULT_PORTS: ControlPlanePorts = {
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  apiServer: 6443,
  controllerManager: 10257,
  scheduler: 10259,
};

export interface LayoutOptions {
  /** Prefix for every file path the components read or write. Default: none (the node's `/`). */
  root?: string;
  /** Where kube-apiserver, kube-controller-manager and kube-scheduler are. */
  binDir?: string;
  /** Debian's etcd-server package. */
  etcdBinary?: string;
  /** Debian's kubernetes-client package. */
  kubectlBinary?: string;
  /** Where the API server listens; the node's default is every interface. */
  apiServerBindAddress?: string;
  ports?: Partial<ControlPlanePorts>;
}

/** Node paths (before any prefix) of what the control plane reads and writes. */
export const CONTROL_PLANE_PATHS = {
  /** The service-account token key pair, generated on this master (see service-account-key.ts). */
  serviceAccountKey: `${NODE_PATHS.kubePki}/sa.key`,
  serviceAccountCert: `${NODE_PATHS.kubePki}/sa.crt`,
  controllerManagerKubeconfig: "/etc/kubernetes/controller-manager.conf",
  schedulerKubeconfig: "/etc/kubernetes/scheduler.conf",
  /** The master's own admin identity, for bootstrap objects and the readiness gate. */
  masterAdminKubeconfig: "/etc/kubernetes/master-admin.conf",
  bootstrapRbacManifest: "/etc/kubernetes/sprout/bootstrap-rbac.yaml",
  etcdDataDir: "/var/lib/etcd",
} as const;

export interface ControlPlaneLayout {
  /** A node path as the components must see it (prefixed when rendering for a test root). */
  file(nodePath: string): string;
  /** Key, certificate and issuing CA of one profile, prefixed. */
  cert(profile: CertProfileName): { keyPath: string; certPath: string; caPath: string };
  ca: { cluster: string; etcd: string; frontProxy: string };
  binary(name: "kube-apiserver" | "kube-controller-manager" | "kube-scheduler"): string;
  etcdBinary: string;
  kubectlBinary: string;
  /** The node's first address: what etcd and the API server advertise. */
  nodeIp: string;
  apiServerBindAddress: string;
  ports: ControlPlanePorts;
  /** `https://127.0.0.1:<port>`: how components on this master reach their API server. */
  localApiServer: string;
}

export function controlPlaneLayout(m: NodeManifest, o: LayoutOptions = {}): ControlPlaneLayout {
  const root = (o.root ?? "").replace(/\/+$/, "");
  if (root !== "" && !root.startsWith("/")) throw new Error(`layout root must be absolute, got ${JSON.stringify(o.root)}`);
  const file = (nodePath: string) => `${root}${nodePath}`;
  const ports = { ...DEFAULT_PORTS, ...o.ports };
  const binDir = o.binDir ?? "/usr/local/bin";
  return {
    file,
    cert: (profile) => {
      const p = certificatePaths(profile);
      return { keyPath: file(p.keyPath), certPath: file(p.certPath), caPath: file(p.caPath) };
    },
    ca: { cluster: file(CA_PATHS.cluster), etcd: file(CA_PATHS.etcd), frontProxy: file(CA_PATHS.frontProxy) },
    binary: (name) => `${binDir}/${name}`,
    etcdBinary: o.etcdBinary ?? "/usr/bin/etcd",
    kubectlBinary: o.kubectlBinary ?? "/usr/bin/kubectl",
    nodeIp: m.node.addresses[0]!,
    apiServerBindAddress: o.apiServerBindAddress ?? "0.0.0.0",
    ports,
    localApiServer: `https://127.0.0.1:${ports.apiServer}`,
  };
}
