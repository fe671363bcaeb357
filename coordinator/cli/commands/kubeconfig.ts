import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { progress } from "../../output.js";
import { mergeKubeconfig } from "../../access/kubeconfig-merge.js";
import { adminKubeconfig, defaultKubeconfigPath } from "../../access/admin-kubeconfig.js";

/**
 * `sprout kubeconfig <dir> [--out FILE] [--merge]`: prints the admin kubeconfig, writes it to
 * FILE (mode 0600), or merges it into kubectl's default file under the `sprout-<name>` context.
 */
export async function kubeconfigCommand(dir: string, out: string | undefined, merge = false): Promise<number> {
  const { text, context } = await adminKubeconfig(dir);
  if (merge) {
    const target = defaultKubeconfigPath();
    await mergeKubeconfig(target, text);
    progress(`merged context ${context} into ${target}`);
    return 0;
  }
  if (!out) {
    process.stdout.write(text);
    return 0;
  }
  await writeFileAtomic(out, text, 0o600);
  progress(`wrote ${out} (context ${context})`);
  return 0;
}
