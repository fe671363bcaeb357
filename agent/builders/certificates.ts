import { CERT_PROFILES, CertProfileName } from "../../shared/cert-profiles.js";
import { NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";

const PKI = NODE_PATHS.kubePki;

/** The issuing CA's certificate for each profile, at kubeadm's paths (written from the manifest). */
export const CA_PATHS = {
  cluster: `${PKI}/ca.crt`,
  etcd: `${PKI}/etcd/ca.crt`,
  frontProxy: `${PKI}/front-proxy-ca.crt`,
} as const;

/** Where each identity lives on a node: kubeadm's layout, so operators find things where they expect. */
const LAYOUT: Record<CertProfileName, { base: string; ca: string }> = {
  "kube-proxy": { base: `${PKI}/kube-proxy`, ca: CA_PATHS.cluster },
  "kube-apiserver": { base: `${PKI}/apiserver`, ca: CA_PATHS.cluster },
  "apiserver-kubelet-client": { base: `${PKI}/apiserver-kubelet-client`, ca: CA_PATHS.cluster },
  "apiserver-etcd-client": { base: `${PKI}/apiserver-etcd-client`, ca: CA_PATHS.etcd },
  "front-proxy-client": { base: `${PKI}/front-proxy-client`, ca: CA_PATHS.frontProxy },
  "etcd-server": { base: `${PKI}/etcd/server`, ca: CA_PATHS.etcd },
  "etcd-peer": { base: `${PKI}/etcd/peer`, ca: CA_PATHS.etcd },
  "kube-controller-manager": { base: `${PKI}/controller-manager`, ca: CA_PATHS.cluster },
  "kube-scheduler": { base: `${PKI}/scheduler`, ca: CA_PATHS.cluster },
  "master-admin": { base: `${PKI}/master-admin`, ca: CA_PATHS.cluster },
  "edge-server": { base: `${PKI}/edge-server`, ca: CA_PATHS.cluster },
  "edge-controller": { base: `${PKI}/edge-controller`, ca: CA_PATHS.cluster },
  "node-roles": { base: `${PKI}/node-roles`, ca: CA_PATHS.cluster },
  "cluster-dns": { base: `${PKI}/cluster-dns`, ca: CA_PATHS.cluster },
  "metrics-server": { base: `${PKI}/metrics-server`, ca: CA_PATHS.cluster },
  "local-storage": { base: `${PKI}/local-storage`, ca: CA_PATHS.cluster },
  "shared-storage": { base: `${PKI}/shared-storage`, ca: CA_PATHS.cluster },
};

/** The control plane's identities: the profiles only a master may request. */
const MASTER_PROFILES = CertProfileName.options.filter((p) => CERT_PROFILES[p].roles.join() === "master");

export function certificatePaths(profile: CertProfileName): { keyPath: string; certPath: string; caPath: string } {
  const { base, ca } = LAYOUT[profile];
  return { keyPath: `${base}.key`, certPath: `${base}.crt`, caPath: ca };
}

/** kube-proxy's identity on every node; the control plane's on masters; the edge's on edge nodes. */
export function certificateSteps(m: NodeManifest): StepInput[] {
  const profiles: CertProfileName[] = [
    "kube-proxy",
    "cluster-dns",
    "local-storage",
    ...(m.node.roles.includes("master") ? MASTER_PROFILES : []),
    // The shared volume's provisioner: where the volume was formed, or a master without one.
    ...(m.storage?.formsVolume || (!m.storage && m.node.roles.includes("master")) ? (["shared-storage"] as const) : []),
    ...(m.edge ? (m.edge.userTls ? (["edge-controller"] as const) : (["edge-server", "edge-controller"] as const)) : []),
  ];
  const hasFile = (path: string) => m.files.some((f) => f.path === path);
  return profiles.map((profile) => {
    const paths = certificatePaths(profile);
    return {
      id: `certs/${profile}`,
      kind: "certificate" as const,
      description: `${profile} certificate`,
      profile,
      ...paths,
      // The CA file comes from the manifest; without it there is nothing to verify against.
      dependsOn: [...(hasFile(paths.caPath) ? [`files${paths.caPath}`] : []), ...(paths.caPath.startsWith(`${PKI}/etcd/`) ? ["dirs/etcd-pki"] : ["dirs/kubernetes-pki"])],
    };
  });
}
