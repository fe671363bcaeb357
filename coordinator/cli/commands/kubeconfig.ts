import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../../shared/errors.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { deploymentPaths, loadClusterSpec } from "../../deployment.js";
import { loadOrCreateClusterPki, issueClientCertificate } from "../../pki/cluster-pki.js";
import { renderKubeconfig } from "../../../shared/kubeconfig.js";
import { StateStore } from "../../state/store.js";
import { progress } from "../output.js";

/**
 * `sprout kubeconfig <dir> [--out FILE]`: an admin kubeconfig (system:masters) for the cluster's
 * API server, printed to stdout or written mode 0600.
 */
export async function kubeconfigCommand(dir: string, out: string | undefined): Promise<number> {
  const paths = deploymentPaths(dir);
  const spec = await loadClusterSpec(paths);
  const pki = await loadOrCreateClusterPki(paths.pkiDir);
  // Read-only: a coordinator may be running, and this command does not take its lock.
  const store = await StateStore.open(paths.stateDir, { readOnly: true });
  const master = store.listNodes().find((n) => n.roles.includes("master"));
  const endpoint = spec.controlPlaneEndpoint ?? master?.addresses[0];
  if (!endpoint) throw new UserError(`no master has joined cluster ${spec.name} yet, so its API server address is unknown; run \`sprout up ${dir}\` first`);
  const client = await issueClientCertificate(pki, { commonName: "sprout-admin", organizations: ["system:masters"] });
  const text = renderKubeconfig({
    clusterName: `sprout-${spec.name}`,
    server: `https://${endpoint}:6443`,
    user: `sprout-${spec.name}-admin`,
    contextName: `sprout-${spec.name}`,
    ca: { pem: pki.caCertPem },
    client: { certPem: client.certPem, keyPem: client.keyPem },
  });
  if (!out) {
    process.stdout.write(text);
    return 0;
  }
  const target = out === "~/.kube/config" ? join(homedir(), ".kube", "config") : out;
  await writeFileAtomic(target, text, 0o600);
  progress(`wrote ${target} (context sprout-${spec.name})`);
  return 0;
}
