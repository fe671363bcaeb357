import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CONTROL_PLANE_PATHS, type ControlPlaneLayout } from "./layout.js";
import { APISERVER_UNIT } from "./kube-apiserver.js";
import { renderLocalKubeconfig } from "./kubeconfig.js";
import { flags, renderUnit } from "../systemd-unit.js";
import { controlPlaneFlavour } from "./versions.js";
import { inTreeGlusterfs } from "../storage.js";

export const CONTROLLER_MANAGER_UNIT = "kube-controller-manager.service";

export function renderControllerManagerKubeconfig(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderLocalKubeconfig(m, l, "system:kube-controller-manager", "kube-controller-manager");
}

/**
 * The controller manager. No `--cluster-signing-*`: the coordinator signs every certificate.
 * No node IPAM: Sprout assigns each node's pod CIDR itself (`--allocate-node-cidrs=false`).
 * Service-account tokens are signed with this master's key, one credential per controller.
 * Up to 1.25, without the in-tree volume expander: Sprout's shared volumes are in-tree
 * `glusterfs` volumes grown by Sprout's own provisioner, and the expander would try heketi for
 * them first, flooding each resize with "must contain 'resturl'" warnings. No other plugin in a
 * Sprout cluster uses it (no cloud provider is configured; CSI drivers resize with their own
 * external-resizer).
 */
export function controllerManagerArgs(m: NodeManifest, l: ControlPlaneLayout): string[] {
  const kubeconfig = l.file(CONTROL_PLANE_PATHS.controllerManagerKubeconfig);
  return [
    l.binary("kube-controller-manager"),
    ...flags({
      kubeconfig,
      "authentication-kubeconfig": kubeconfig,
      "authorization-kubeconfig": kubeconfig,
      "bind-address": "127.0.0.1",
      "secure-port": l.ports.controllerManager,
      port: controlPlaneFlavour(m.cluster.kubernetesVersion).disableInsecurePort ? 0 : undefined,
      "leader-elect": true,
      "cluster-name": m.cluster.name,
      "client-ca-file": l.ca.cluster,
      "requestheader-client-ca-file": l.ca.frontProxy,
      "root-ca-file": l.ca.cluster,
      "service-account-private-key-file": l.file(CONTROL_PLANE_PATHS.serviceAccountKey),
      "use-service-account-credentials": true,
      "allocate-node-cidrs": false,
      "cluster-cidr": m.cluster.podCidr,
      "service-cluster-ip-range": m.cluster.serviceCidr,
      controllers: inTreeGlusterfs(m.cluster.kubernetesVersion) ? "*,-persistentvolume-expander" : undefined,
    }),
  ];
}

export function renderControllerManagerUnit(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderUnit({
    description: "Kubernetes controller manager (configured by Sprout)",
    after: [APISERVER_UNIT],
    service: [
      ["Restart", "always"],
      ["RestartSec", "2"],
    ],
    execStart: [controllerManagerArgs(m, l)],
    wantedBy: "multi-user.target",
  });
}
