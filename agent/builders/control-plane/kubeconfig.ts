import { stringify } from "yaml";
import type { NodeManifest } from "../../../shared/node-manifest.js";
import type { CertProfileName } from "../../../shared/cert-profiles.js";
import type { ControlPlaneLayout } from "./layout.js";

/**
 * A kubeconfig for a component on this master: the local API server, the cluster CA and the
 * component's own key and certificate by path (the key never leaves the node, and a renewed
 * certificate is picked up without rewriting the kubeconfig).
 */
export function renderLocalKubeconfig(m: NodeManifest, l: ControlPlaneLayout, user: string, profile: CertProfileName): string {
  const { keyPath, certPath } = l.cert(profile);
  const context = `${user}@${m.cluster.name}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: m.cluster.name, cluster: { server: l.localApiServer, "certificate-authority": l.ca.cluster } }],
    users: [{ name: user, user: { "client-certificate": certPath, "client-key": keyPath } }],
    contexts: [{ name: context, context: { cluster: m.cluster.name, user } }],
    "current-context": context,
    preferences: {},
  });
}
