import { clusterNameFor, initDeployment } from "../../deployment.js";
import { loadOrCreateClusterPki } from "../../pki/cluster-pki.js";
import { ensureAdminCredentials } from "../../access/admin-credentials.js";
import { progress, printJson, type OutputFormat } from "../../output.js";

/** `sprout init <dir>`: a commented cluster.yaml, the cluster PKI and the CLI's admin credentials. */
export async function initCommand(dir: string, format: OutputFormat): Promise<number> {
  const { paths, created } = await initDeployment(dir, clusterNameFor(dir)); // an existing file must be valid
  const pki = await loadOrCreateClusterPki(paths.pkiDir);
  await ensureAdminCredentials(paths, pki);
  if (format === "json") printJson({ dir: paths.root, clusterYaml: paths.clusterYaml, created, caPin: pki.caPin });
  else {
    progress(`${created ? "created" : "kept existing"} ${paths.clusterYaml}`);
    progress(`cluster CA pin: ${pki.caPin}`);
    progress(`next: edit cluster.yaml, then \`sprout up ${dir}\``);
  }
  return 0;
}
