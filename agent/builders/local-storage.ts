import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { renderControllerUnit } from "./controller-unit.js";

export const LOCAL_STORAGE_UNIT = "sprout-local-storage.service";
/** Where node-local volumes live: one directory per PersistentVolume. */
export const LOCAL_VOLUMES_DIR = "/var/lib/sprout/local-volumes";
/** The default StorageClass: a directory on the node the scheduler picked (k3s's local-path). */
export const LOCAL_STORAGE_CLASS = "sprout-local";

/**
 * On every node: the provisioner of node-local volumes for the claims the scheduler placed here
 * (agent/local-storage/), with an identity that may read claims and make or delete volumes.
 */
export function localStorageSteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!endpoint) return [];
  const unit = renderControllerUnit({
    description: "Sprout local storage: node-local volumes for the claims placed on this node",
    after: ["network-online.target"],
    command: "local-storage",
    endpoint,
    profile: "local-storage",
    args: ["--node-name", m.node.name, "--class", LOCAL_STORAGE_CLASS, "--dir", LOCAL_VOLUMES_DIR],
  });
  return [
    { id: "local-storage/dir", kind: "directory", description: "node-local volumes", path: LOCAL_VOLUMES_DIR, mode: 0o755 },
    {
      id: "local-storage/provisioner",
      kind: "systemdUnit",
      description: "the node-local volume provisioner",
      name: LOCAL_STORAGE_UNIT,
      content: unit,
      dependsOn: ["local-storage/dir", "certs/local-storage"],
      restartOnChangeOf: ["certs/local-storage"],
    },
  ];
}
