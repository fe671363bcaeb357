import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../shared/errors.js";
import { renderKubeconfig } from "../../shared/kubeconfig.js";
import { isCloudProvider } from "../../shared/cloud-provider.js";
import { deploymentPaths, loadClusterSpec } from "../deployment.js";
import { loadOrCreateClusterPki, issueClientCertificate } from "../pki/cluster-pki.js";
import { StateStore } from "../state/store.js";
import { planCloud } from "../providers/cloud/cloud-plan.js";

/** The local end of the API server tunnel: what `sprout kubeconfig` writes for a cloud cluster. */
export const API_TUNNEL_PORT = 16443;

/** An admin kubeconfig (system:masters) for the cluster's API server; the key is made here, by the CLI. */
export async function adminKubeconfig(dir: string): Promise<{ text: string; context: string }> {
  const paths = deploymentPaths(dir);
  const spec = await loadClusterSpec(paths);
  const pki = await loadOrCreateClusterPki(paths.pkiDir);
  const store = await StateStore.open(paths.stateDir, { readOnly: true });
  const master = store.listNodes().find((n) => n.roles.includes("master"));
  // A cloud master's address is fixed before it boots, and its API server is reached through the
  // tunnel `sprout tunnel` holds open (only SSH, HTTP and HTTPS are open to the internet).
  const cloud = isCloudProvider(spec) ? planCloud(spec).master.privateIp : undefined;
  const endpoint = spec.controlPlaneEndpoint ?? cloud ?? master?.addresses[0];
  if (!endpoint) throw new UserError(`no master has joined cluster ${spec.name} yet, so its API server address is unknown; run \`sprout up ${dir}\` first`);
  const client = await issueClientCertificate(pki, { commonName: "sprout-admin", organizations: ["system:masters"] });
  const context = `sprout-${spec.name}`;
  const text = renderKubeconfig({
    clusterName: context,
    server: cloud ? `https://127.0.0.1:${API_TUNNEL_PORT}` : `https://${endpoint}:6443`,
    tlsServerName: cloud ? endpoint : undefined,
    user: `${context}-admin`,
    contextName: context,
    ca: { pem: pki.caCertPem },
    client: { certPem: client.certPem, keyPem: client.keyPem },
  });
  return { text, context };
}

/** The kubeconfig file kubectl uses by default: the first of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(): string {
  return process.env.KUBECONFIG?.split(":").find(Boolean) ?? join(homedir(), ".kube", "config");
}
