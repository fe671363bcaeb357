import { NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { renderKubeconfig } from "../../shared/kubeconfig.js";
import { certificatePaths } from "./certificates.js";
import { renderUnit } from "./systemd-unit.js";

const KUBECONFIG = "/etc/kubernetes/kube-proxy.conf";

/**
 * kube-proxy (iptables mode) on every node, with its own coordinator-signed identity. Conntrack
 * limits and timeouts are left to the host (0 = do not set), as kind does: a node machine cannot
 * write the kernel's conntrack parameters.
 */
export function renderKubeProxyUnit(m: NodeManifest): string {
  const args = [
    "/usr/local/bin/kube-proxy",
    `--kubeconfig=${KUBECONFIG}`,
    `--hostname-override=${m.node.name}`,
    `--cluster-cidr=${m.cluster.podCidr}`,
    "--proxy-mode=iptables",
    "--conntrack-max-per-core=0",
    "--conntrack-tcp-timeout-established=0s",
    "--conntrack-tcp-timeout-close-wait=0s",
  ];
  return renderUnit({
    description: "Kubernetes kube-proxy (configured by Sprout)",
    after: ["network-online.target"],
    service: [["Restart", "always"], ["RestartSec", "2"]],
    execStart: [args],
    wantedBy: "multi-user.target",
  });
}


export function kubeProxySteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!endpoint) return []; // no API server to talk to yet: the next manifest revision brings it
  const cert = certificatePaths("kube-proxy");
  const isMaster = m.node.roles.includes("master");
  return [
    {
      id: "kube-proxy/kubeconfig",
      kind: "file",
      description: "kube-proxy kubeconfig",
      path: KUBECONFIG,
      mode: 0o600,
      content: renderKubeconfig({ clusterName: m.cluster.name, server: endpoint, user: "system:kube-proxy", ca: { file: `${NODE_PATHS.kubePki}/ca.crt` }, client: { certFile: cert.certPath, keyFile: cert.keyPath } }),
    },
    { id: "kube-proxy/unit-file", kind: "file", description: "kube-proxy systemd unit", path: "/etc/systemd/system/kube-proxy.service", content: renderKubeProxyUnit(m), mode: 0o644 },
    {
      id: "kube-proxy/service",
      kind: "systemdUnit",
      description: "kube-proxy running",
      name: "kube-proxy.service",
      enabled: true,
      state: "running",
      dependsOn: ["kube-proxy/kubeconfig", "kube-proxy/unit-file", "certs/kube-proxy", ...(isMaster ? [] : ["kubelet/wait-apiserver"])],
      restartOnChangeOf: ["kube-proxy/kubeconfig", "kube-proxy/unit-file", "certs/kube-proxy"],
    },
  ];
}
