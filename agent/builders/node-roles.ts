import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { masterRoleLabel } from "../../shared/versions.js";
import { CA_PATHS, certificatePaths } from "./certificates.js";
import { renderUnit } from "./systemd-unit.js";

export const NODE_ROLES_UNIT = "sprout-node-roles.service";

/**
 * On masters: the controller that gives every node the `node-role.kubernetes.io/*` labels of its
 * roles (agent/node-roles/), with an identity that may only read and label Nodes.
 */
export function nodeRolesSteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!m.node.roles.includes("master") || !endpoint) return [];
  const client = certificatePaths("node-roles");
  const unit = renderUnit({
    description: "Sprout node roles: node-role.kubernetes.io labels from each node's Sprout roles",
    after: ["network-online.target"],
    wants: ["network-online.target"],
    service: [
      ["Type", "simple"],
      ["Restart", "always"],
      ["RestartSec", "2"],
    ],
    execStart: [["/usr/local/bin/sprout-agent", "node-roles", "--server", endpoint, "--ca", CA_PATHS.cluster, "--cert", client.certPath, "--key", client.keyPath, "--master-label", masterRoleLabel(m.cluster.kubernetesVersion)]],
    wantedBy: "multi-user.target",
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
