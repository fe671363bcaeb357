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
 *
 * `--bind-address` is the node's address, as the kubelet's `--node-ip`: with the default
 * (0.0.0.0) kube-proxy 1.20 looks its node IP up in its Node object before it programs any rule,
 * and when it starts before the kubelet has registered the node it retries with an exponential
 * backoff (1, 2, 4, 8, 16 s): Services stay un-programmed for up to ~30 s after the node is Ready
 * and its pods run, and a connection to a ClusterIP in that window is tracked without DNAT and
 * stays black-holed for its SYN retransmits even after the rules arrive. In iptables mode the
 * address only names the node IP (no socket binds to it).
 */
export function renderKubeProxyUnit(m: NodeManifest): string {
  const args = [
    "/usr/local/bin/kube-proxy",
    `--kubeconfig=${KUBECONFIG}`,
    `--hostname-override=${m.node.name}`,
    `--bind-address=${m.node.addresses[0]}`,
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
