import { stringify } from "yaml";
import { BARRIER } from "../../shared/barrier-names.js";
import { NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { minorOf } from "../../shared/versions.js";
import { proxyDropInStep } from "./egress-proxy.js";
import { renderUnit } from "./systemd-unit.js";

const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";

/** Minors whose kubelet still has `--container-runtime=remote` (the flag was removed in 1.27). */
function needsRuntimeFlag(version: string): boolean {
  const [major, minor] = minorOf(version).split(".").map(Number);
  return major === 1 && minor! < 27;
}

/** `registerWithTaints` joined KubeletConfiguration in 1.23; older kubelets only take the flag. */
function taintsInConfig(version: string): boolean {
  const [major, minor] = minorOf(version).split(".").map(Number);
  return major! > 1 || minor! >= 23;
}

/** `--register-with-taints` syntax: `key[=value]:effect`, comma separated. */
function taintFlag(m: NodeManifest): string {
  return m.kubelet.registerWithTaints.map((t) => `${t.key}${t.value === undefined ? "" : `=${t.value}`}:${t.effect}`).join(",");
}

export function renderKubeletConfig(m: NodeManifest): string {
  const config: Record<string, unknown> = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${NODE_PATHS.kubePki}/ca.crt` },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "systemd",
    clusterDNS: [m.cluster.dnsServiceIp],
    clusterDomain: m.cluster.clusterDomain,
    podCIDR: m.node.podCidr,
    maxPods: m.kubelet.maxPods,
    // The coordinator issued this certificate with the node's names and addresses.
    tlsCertFile: NODE_PATHS.nodeCert,
    tlsPrivateKeyFile: NODE_PATHS.nodeKey,
    rotateCertificates: false,
    failSwapOn: false,
    // A new node registers NotReady (its runtime check has not run yet) and turns Ready at the
    // next status update: 10 s later by default, 4 s here. With node leases the kubelet posts
    // status only when it changed, so the shorter period costs a cached GET, not a write.
    nodeStatusUpdateFrequency: "4s",
  };
  if (taintsInConfig(m.cluster.kubernetesVersion)) config.registerWithTaints = m.kubelet.registerWithTaints;
  if (!needsRuntimeFlag(m.cluster.kubernetesVersion)) config.containerRuntimeEndpoint = CONTAINERD_SOCKET;
  return stringify(config);
}

export function renderKubeletUnit(m: NodeManifest): string {
  const labels = Object.entries(m.kubelet.nodeLabels).map(([k, v]) => `${k}=${v}`).join(",");
  const args = [
    "/usr/local/bin/kubelet",
    `--config=${NODE_PATHS.kubeletConfig}`,
    `--kubeconfig=${NODE_PATHS.kubeletKubeconfig}`,
    `--hostname-override=${m.node.name}`,
    `--node-ip=${m.node.addresses[0]}`,
    `--node-labels=${labels}`,
    ...(needsRuntimeFlag(m.cluster.kubernetesVersion) ? ["--container-runtime=remote", `--container-runtime-endpoint=${CONTAINERD_SOCKET}`] : []),
    ...(!taintsInConfig(m.cluster.kubernetesVersion) && m.kubelet.registerWithTaints.length > 0 ? [`--register-with-taints=${taintFlag(m)}`] : []),
  ];
  return renderUnit({
    description: "Kubernetes kubelet (configured by Sprout)",
    wants: ["containerd.service"],
    after: ["containerd.service", "network-online.target"],
    service: [["Restart", "always"], ["RestartSec", "2"]],
    execStart: [args],
    wantedBy: "multi-user.target",
  });
}


/** kubelet: config, unit and start. Non-masters first wait for the cluster's API server. */
export function kubeletSteps(m: NodeManifest): StepInput[] {
  const isMaster = m.node.roles.includes("master");
  const proxy = proxyDropInStep(m, "kubelet.service");
  const kubeconfigStep = m.files.some((f) => f.path === NODE_PATHS.kubeletKubeconfig) ? [`files${NODE_PATHS.kubeletKubeconfig}`] : [];
  const steps: StepInput[] = [
    {
      id: "kubelet/config",
      kind: "file",
      description: "kubelet configuration",
      path: NODE_PATHS.kubeletConfig,
      content: renderKubeletConfig(m),
      mode: 0o644,
      dependsOn: ["dirs/kubelet"],
    },
    {
      id: "kubelet/unit-file",
      kind: "file",
      description: "kubelet systemd unit",
      path: "/etc/systemd/system/kubelet.service",
      content: renderKubeletUnit(m),
      mode: 0o644,
    },
  ];
  if (proxy) steps.push(proxy);
  if (!isMaster) {
    steps.push({
      id: "kubelet/wait-apiserver",
      kind: "waitFor",
      description: "wait for the cluster's API server",
      condition: { type: "barrier", name: BARRIER.apiServerReady },
      deadlineSeconds: 1800,
    });
  }
  const changes = ["kubelet/config", "kubelet/unit-file", ...kubeconfigStep, ...(proxy ? [proxy.id] : [])];
  steps.push({
    id: "kubelet/service",
    kind: "systemdUnit",
    description: "kubelet running",
    name: "kubelet.service",
    enabled: true,
    state: "running",
    // The pause image and a CNI config are what a node needs before it can run pods.
    dependsOn: [...changes, "containerd/service", "images/import", "cni/config", ...(isMaster ? [] : ["kubelet/wait-apiserver"])],
    restartOnChangeOf: changes,
  });
  return steps;
}
