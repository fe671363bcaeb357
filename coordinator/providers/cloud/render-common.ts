import { attr, block, expr, type HclBody } from "./hcl.js";
import type { CloudNode, CloudPlan } from "./cloud-plan.js";

/** Pieces every cloud's configuration shares. */

/** A resource name for a node: node names are DNS labels, which may start with a digit. */
export const rid = (node: { name: string } | string): string => `node_${typeof node === "string" ? node : node.name}`;

/** The node's user-data, a file next to main.tf (so it can be read and diffed on its own). */
export const userDataFile = (node: CloudNode): ReturnType<typeof expr> => expr(`file("\${path.module}/user-data/${node.name}.yaml")`);

/** Names of cloud resources: `sprout-<cluster>[-<what>]`. */
export const resourceName = (plan: CloudPlan, what?: string): string => `sprout-${plan.cluster}${what ? `-${what}` : ""}`;

/** The `terraform {}` block pinning one provider. */
export function terraformBlock(local: string, source: string, version: string): HclBody {
  return [block("terraform", [], [attr("required_version", ">= 1.5"), block("required_providers", [], [attr(local, { source, version })])])];
}

/**
 * Outputs the CLI reads after `tofu apply`: where to SSH for the coordinator tunnel, where the
 * edge answers. `publicIpOf`: the expression of a node's public address in this cloud's terms.
 */
export function outputs(plan: CloudPlan, publicIpOf: (node: CloudNode) => string): HclBody {
  const edge = plan.nodes.filter((n) => n.publicIp).map((n) => `"${n.name}" = ${publicIpOf(n)}`);
  return [
    block("output", ["master_public_ip"], [attr("value", expr(publicIpOf(plan.master))), attr("description", "The master's public address: the CLI's SSH tunnel to the coordinator lands here")]),
    block("output", ["edge_public_ips"], [attr("value", expr(`{ ${edge.join(", ")} }`)), attr("description", "Public addresses of the nodes serving HTTP/HTTPS")]),
  ];
}

export const STORAGE_DISK_NAME = "brick";
/** Boot disk size: the image plus images, logs and pod scratch space. */
export const ROOT_DISK_GIB = 30;
