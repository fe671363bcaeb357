import { NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";

/** Directories the node layout needs, and the files the coordinator supplies verbatim (CA, kubeconfigs). */
export function nodeFileSteps(m: NodeManifest): StepInput[] {
  const dirs = [
    { id: "dirs/kubernetes-pki", path: NODE_PATHS.kubePki, mode: 0o755 },
    { id: "dirs/etcd-pki", path: `${NODE_PATHS.kubePki}/etcd`, mode: 0o700 },
    { id: "dirs/kubelet", path: "/var/lib/kubelet", mode: 0o700 },
    { id: "dirs/cni-conf", path: "/etc/cni/net.d", mode: 0o755 },
  ];
  return [
    ...dirs.map((d) => ({ ...d, kind: "directory" as const, description: `directory ${d.path}` })),
    ...m.files.map((f) => ({
      id: `files${f.path}`,
      kind: "file" as const,
      description: `write ${f.path}`,
      path: f.path,
      content: f.content,
      mode: f.mode,
      dependsOn: dirs.filter((d) => f.path.startsWith(`${d.path}/`)).map((d) => d.id),
    })),
  ];
}
