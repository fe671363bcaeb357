/**
 * The version matrix: which Kubernetes minors the agent can render configuration for, and what
 * each implies for the pieces around it. The local provider builds 1.20.2 from Debian's source
 * package; cloud images take current releases.
 */
export const SPROUT_VERSION = "0.1.0";
export const PROTOCOL_VERSION = 1;

export interface MinorSupport {
  /** containerd config.toml schema version the image's containerd expects. */
  containerdConfigVersion: 2 | 3;
  /** Default pause image tag for this minor (what kubeadm would pin). */
  pauseImage: string;
  /** KubeletConfiguration apiVersion. */
  kubeletConfigApi: "kubelet.config.k8s.io/v1beta1";
}

export const SUPPORTED_MINORS: Record<string, MinorSupport> = {
  "1.20": { containerdConfigVersion: 2, pauseImage: "registry.k8s.io/pause:3.2", kubeletConfigApi: "kubelet.config.k8s.io/v1beta1" },
  "1.30": { containerdConfigVersion: 2, pauseImage: "registry.k8s.io/pause:3.9", kubeletConfigApi: "kubelet.config.k8s.io/v1beta1" },
  "1.31": { containerdConfigVersion: 3, pauseImage: "registry.k8s.io/pause:3.10", kubeletConfigApi: "kubelet.config.k8s.io/v1beta1" },
  "1.32": { containerdConfigVersion: 3, pauseImage: "registry.k8s.io/pause:3.10", kubeletConfigApi: "kubelet.config.k8s.io/v1beta1" },
  "1.33": { containerdConfigVersion: 3, pauseImage: "registry.k8s.io/pause:3.10", kubeletConfigApi: "kubelet.config.k8s.io/v1beta1" },
};

export function minorOf(version: string): string {
  const m = /^v?(\d+)\.(\d+)\.\d+$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes version: ${version}`);
  return `${m[1]}.${m[2]}`;
}

export function minorSupport(version: string): MinorSupport | undefined {
  try {
    return SUPPORTED_MINORS[minorOf(version)];
  } catch {
    return undefined;
  }
}

export const DEFAULT_KUBERNETES_VERSION = "1.20.2";

/**
 * The label and taint key kubeadm gives masters in that minor: `node-role.kubernetes.io/master`
 * up to 1.23, `…/control-plane` from 1.24 on, where charts and operators tolerate and select only
 * the new key (and workloads tolerating only the old one would land on masters).
 */
export function masterRoleLabel(kubernetesVersion: string): string {
  const [major, minor] = minorOf(kubernetesVersion).split(".").map(Number) as [number, number];
  return major === 1 && minor < 24 ? "node-role.kubernetes.io/master" : "node-role.kubernetes.io/control-plane";
}
