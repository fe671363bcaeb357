import { z } from "zod";
import { NodeRole } from "../../shared/roles.js";
import { NodeFacts } from "../../shared/join.js";

/** On-disk record schemas. Every file is validated when loaded: a corrupt record is an error, not a guess. */
export const TokenRecord = z.object({
  id: z.string(),
  /** `sha256:<hex>` of the secret; the secret itself is never stored. */
  secretHash: z.string(),
  description: z.string(),
  roles: z.array(NodeRole),
  createdAt: z.number(),
  expiresAt: z.number(),
  maxUses: z.number().int().positive(),
  /** When set, only these node names may join with the token (a provider knows its planned names). */
  nodeNames: z.array(z.string()).optional(),
  /** Node names that consumed a use. A set, so a retried join by the same node is not a second use. */
  usedBy: z.array(z.string()),
  revoked: z.boolean(),
});
export type TokenRecord = z.infer<typeof TokenRecord>;

export const NodeRecord = z.object({
  name: z.string(),
  roles: z.array(NodeRole),
  addresses: z.array(z.string()),
  tokenId: z.string(),
  /** sha256 of the node key's SubjectPublicKeyInfo: a retried join with the same key is a replay, not a clash. */
  publicKeyHash: z.string(),
  certificate: z.string(),
  /** Serial of the current certificate; mTLS requests must present exactly this one. */
  certificateSerial: z.string(),
  podCidr: z.string(),
  podCidrIndex: z.number().int().nonnegative(),
  joinedAt: z.number(),
  facts: NodeFacts,
  manifestRevision: z.number().int().nonnegative(),
  manifestHash: z.string(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;
