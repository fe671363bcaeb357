import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { masterRoleLabel } from "../../shared/versions.js";
import { renderControllerUnit } from "./controller-unit.js";

export const NODE_ROLES_UNIT = "sprout-node-roles.service";

/**
 * On masters: the controller that gives every node the `node-role.kubernetes.io/*` labels of its
 * roles (agent/node-roles/), with an identity that may only read and label Nodes.
 */
export function nodeRolesSteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!m.node.roles.includes("master") || !endpoint) return [];
  const unit = renderControllerUnit({
    description: "Sprout node roles: node-role.kubernetes.io labels from each node's Sprout roles",
    after: ["network-online.target"],
    command: "node-roles",
    endpoint,
    profile: "node-roles",
    args: ["--master-label", masterRoleLabel(m.cluster.kubernetesVersion)],
  });
  return [
    {
      id: "node-roles/controller",
      kind: "systemdUnit",
      description: "the node-role labeller",
      name: NODE_ROLES_UNIT,
      content: unit,
      dependsOn: ["certs/node-roles"],
      restartOnChangeOf: ["certs/node-roles"],
    },
  ];
}
