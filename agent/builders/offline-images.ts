import type { StepInput } from "../../shared/steps.js";

/** Where the node image keeps its OCI archives (image-build/oci-images.sh). */
export const IMAGE_ARCHIVE_DIR = "/usr/local/share/sprout/images";

/**
 * Imports the image's offline OCI archives (pause, toolbox) into containerd's Kubernetes
 * namespace: registries are not reachable, and the kubelet needs the pause image for every pod.
 * A oneshot unit rather than a command step, so an offline rootfs can carry it (enabled: it also
 * runs at every boot) and a live node runs it now; importing an image already there is a no-op.
 */
export function renderImportUnit(): string {
  return `# Written by sprout-agent; local edits are replaced.
[Unit]
Description=Import Sprout's offline container images into containerd
Requires=containerd.service
After=containerd.service
ConditionDirectoryNotEmpty=${IMAGE_ARCHIVE_DIR}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for a in ${IMAGE_ARCHIVE_DIR}/*.tar; do /usr/bin/ctr --namespace k8s.io images import "$a" || exit 1; done'

[Install]
WantedBy=multi-user.target
`;
}

export function offlineImageSteps(): StepInput[] {
  return [
    {
      id: "images/import-unit",
      kind: "file",
      description: "unit importing the offline container images",
      path: "/etc/systemd/system/sprout-import-images.service",
      content: renderImportUnit(),
      mode: 0o644,
    },
    {
      id: "images/import",
      kind: "systemdUnit",
      description: "offline container images imported",
      name: "sprout-import-images.service",
      enabled: true,
      state: "running",
      dependsOn: ["images/import-unit", "containerd/service"],
      restartOnChangeOf: ["images/import-unit"],
    },
  ];
}
