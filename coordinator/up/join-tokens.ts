import type { BootstrapInput } from "../../shared/bootstrap.js";
import { durationMs, type PlannedNode } from "../../shared/cluster-spec.js";
import type { Coordinator } from "../coordinator.js";

/** One token per group, bound to that group's nodes that still have to join. */
export async function issueTokens(
  co: Coordinator,
  nodes: PlannedNode[],
  ttl: string,
  needsJoin: (n: PlannedNode) => boolean,
): Promise<Map<string, string>> {
  const byNode = new Map<string, string>();
  const groups = new Map<string, PlannedNode[]>();
  for (const n of nodes.filter(needsJoin)) groups.set(n.group, [...(groups.get(n.group) ?? []), n]);
  for (const [group, members] of groups) {
    const { token } = await co.tokens.create({
      roles: members[0]!.roles,
      ttlSeconds: Math.round(durationMs(ttl) / 1000),
      maxUses: members.length,
      nodeNames: members.map((m) => m.name),
      description: `sprout up: group ${group}`,
    });
    for (const m of members) byNode.set(m.name, token);
  }
  return byNode;
}

/** Nodes that already joined need no token; the bootstrap schema still wants a well-formed one. */
export function placeholderToken(): string {
  return "joined.0000000000000000";
}

/** A planned node's bootstrap file: the coordinator to dial, its token or the placeholder, the CA pin. */
export function nodeBootstrap(coordinator: string, tokens: Map<string, string>, caPin: string, node: PlannedNode): BootstrapInput {
  return {
    coordinators: [coordinator],
    token: tokens.get(node.name) ?? placeholderToken(),
    caPin,
    nodeName: node.name,
    roles: node.roles,
  };
}
