import { NODE_PATHS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { minorSupport } from "../../shared/versions.js";
import { proxyDropInStep } from "./egress-proxy.js";

/** Debian's containernetworking-plugins install here; cloud images use /opt/cni/bin too. */
const CNI_BIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

/** containerd 1.x (config version 2): CRI with runc, systemd cgroups, our sandbox image. */
export function renderContainerdConfigV2(m: NodeManifest): string {
  return `# Written by sprout-agent from the node manifest (revision ${m.revision}); local edits are replaced.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${m.containerd.sandboxImage}"
  restrict_oom_score_adj = ${m.containerd.restrictOomScoreAdj}

  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIRS[0]}"
    conf_dir = "/etc/cni/net.d"
`;
}

/** containerd 2.x (config version 3): the CRI plugin is split into images and runtime parts. */
export function renderContainerdConfigV3(m: NodeManifest): string {
  return `# Written by sprout-agent from the node manifest (revision ${m.revision}); local edits are replaced.
version = 3

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "${m.containerd.sandboxImage}"

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = ${m.containerd.restrictOomScoreAdj}

[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = "runc"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = [${CNI_BIN_DIRS.map((d) => `"${d}"`).join(", ")}]
  conf_dir = "/etc/cni/net.d"
`;
}

export function containerdSteps(m: NodeManifest): StepInput[] {
  const version = minorSupport(m.cluster.kubernetesVersion)?.containerdConfigVersion ?? 2;
  const proxy = proxyDropInStep(m, "containerd.service");
  const config: StepInput = {
    id: "containerd/config",
    kind: "file",
    description: `containerd config (version ${version})`,
    path: NODE_PATHS.containerdConfig,
    content: (version === 3 ? renderContainerdConfigV3 : renderContainerdConfigV2)(m),
    mode: 0o644,
  };
  const changes = [config.id, ...(proxy ? [proxy.id] : [])];
  return [
    config,
    ...(proxy ? [proxy] : []),
    {
      id: "containerd/service",
      kind: "systemdUnit",
      description: "containerd running",
      name: "containerd.service",
      enabled: true,
      state: "running",
      dependsOn: [...changes, ...(m.kernel.modules.includes("overlay") ? ["kernel/module-overlay"] : [])],
      restartOnChangeOf: changes,
    },
  ];
}
