import type { NodeManifest } from "../../../shared/node-manifest.js";
import type { CertProfileName } from "../../../shared/cert-profiles.js";
import { renderKubeconfig } from "../../../shared/kubeconfig.js";
import type { ControlPlaneLayout } from "./layout.js";

/**
 * A kubeconfig for a component on this master: the local API server, the cluster CA and the
 * component's own key and certificate by path (the key never leaves the node, and a renewed
 * certificate is picked up without rewriting the kubeconfig).
 */
export function renderLocalKubeconfig(m: NodeManifest, l: ControlPlaneLayout, user: string, profile: CertProfileName): string {
  const { keyPath, certPath } = l.cert(profile);
  return renderKubeconfig({
    clusterName: m.cluster.name,
    server: l.localApiServer,
    user,
    ca: { file: l.ca.cluster },
    client: { certFile: certPath, keyFile: keyPath },
  });
}
