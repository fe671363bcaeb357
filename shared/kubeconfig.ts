import { stringify } from "yaml";

/**
 * Renders a kubeconfig. Node kubeconfigs reference files on the node (the key never leaves it);
 * the admin kubeconfig embeds its data because it travels to the user's ~/.kube/config.
 */
export interface KubeconfigInput {
  clusterName: string;
  server: string;
  user: string;
  ca: { file: string } | { pem: string };
  client: { certFile: string; keyFile: string } | { certPem: string; keyPem: string };
  contextName?: string;
  /** The name the server's certificate must carry when `server` is a tunnel's local end. */
  tlsServerName?: string;
}

export function renderKubeconfig(i: KubeconfigInput): string {
  const context = i.contextName ?? `${i.user}@${i.clusterName}`;
  const cluster = {
    server: i.server,
    ...(i.tlsServerName ? { "tls-server-name": i.tlsServerName } : {}),
    ...("file" in i.ca ? { "certificate-authority": i.ca.file } : { "certificate-authority-data": b64(i.ca.pem) }),
  };
  const user =
    "certFile" in i.client
      ? { "client-certificate": i.client.certFile, "client-key": i.client.keyFile }
      : { "client-certificate-data": b64(i.client.certPem), "client-key-data": b64(i.client.keyPem) };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: i.clusterName, cluster }],
    users: [{ name: i.user, user }],
    contexts: [{ name: context, context: { cluster: i.clusterName, user: i.user } }],
    "current-context": context,
    preferences: {},
  });
}

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}
