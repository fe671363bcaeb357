import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { STORAGE_STEP } from "../../shared/barrier-names.js";
import { renderControllerUnit } from "./controller-unit.js";
import { mountUnitFile, mountUnitName, volumeMountSource } from "./storage.js";

export const SHARED_STORAGE_UNIT = "sprout-shared-storage.service";
/** Where the storage node that formed the volume mounts it whole, to make each claim's directory. */
export const SHARED_VOLUME_ADMIN_MOUNT = "/var/lib/sprout/shared-volume";

/**
 * The provisioner of the shared classes (agent/shared-storage/):
 * - on the storage node that formed the GlusterFS volume, which can set directory quotas, with
 *   the whole volume mounted at SHARED_VOLUME_ADMIN_MOUNT;
 * - on masters of a cluster without storage nodes, only to tell claims of those classes why
 *   they wait (an Event), rather than leave them Pending in silence.
 */
export function sharedStorageSteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!endpoint) return [];
  const s = m.storage;
  if (s?.formsVolume && s.brick && s.servers.length > 0) return provisionerSteps(m, endpoint, s);
  if (!s && m.node.roles.includes("master")) return [controllerStep(endpoint, ["--node-name", m.node.name], [])];
  return [];
}

type Storage = NonNullable<NodeManifest["storage"]>;

function provisionerSteps(m: NodeManifest, endpoint: string, s: Storage): StepInput[] {
  const { what, options } = volumeMountSource(s);
  const args = ["--node-name", m.node.name, "--volume", s.volume, "--dir", SHARED_VOLUME_ADMIN_MOUNT, "--kubernetes-version", m.cluster.kubernetesVersion, "--shared-path", s.sharedPath ?? "/mnt/sprout-shared", "--capacity-gib", String(s.capacityGiB)];
  return [
    {
      id: "shared-storage/mount",
      kind: "systemdUnit",
      description: `mount the whole shared volume at ${SHARED_VOLUME_ADMIN_MOUNT}, for the provisioner`,
      dependsOn: [STORAGE_STEP.volume],
      name: mountUnitName(SHARED_VOLUME_ADMIN_MOUNT),
      content: mountUnitFile({ description: `Sprout: the shared GlusterFS volume ${s.volume}, for its provisioner`, what, where: SHARED_VOLUME_ADMIN_MOUNT, type: "glusterfs", options, wantedBy: "remote-fs.target" }),
      deadlineSeconds: 300,
    },
    controllerStep(endpoint, args, ["shared-storage/mount"]),
  ];
}

function controllerStep(endpoint: string, args: string[], dependsOn: string[]): StepInput {
  const unit = renderControllerUnit({
    description: "Sprout shared storage: a directory with a quota on the GlusterFS volume for every claim of the shared classes",
    after: ["network-online.target", "remote-fs.target"],
    command: "shared-storage",
    endpoint,
    profile: "shared-storage",
    args,
  });
  return {
    id: "shared-storage/provisioner",
    kind: "systemdUnit",
    description: "the shared volume's provisioner",
    name: SHARED_STORAGE_UNIT,
    content: unit,
    dependsOn: [...dependsOn, "certs/shared-storage"],
    restartOnChangeOf: ["certs/shared-storage"],
  };
}
