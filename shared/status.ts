import { z } from "zod";
import { NodeName, NodeRole } from "./roles.js";

/** What `sprout status` shows: one row per node with its phase timeline. */
export const NodePhase = z.enum(["joined", "configuring", "waiting", "converged", "failed"]);
export type NodePhase = z.infer<typeof NodePhase>;

export const TimelineEntry = z.object({
  /** `join`, a phase name, or `step:<id>`. */
  name: z.string(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  status: z.enum(["running", "waiting", "finished", "failed"]),
  detail: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const NodeStatus = z.object({
  name: z.string(),
  roles: z.array(NodeRole),
  addresses: z.array(z.string()),
  phase: NodePhase,
  joinedAt: z.number(),
  lastEventAt: z.number().optional(),
  revision: z.number().int(),
  appliedRevision: z.number().int().optional(),
  connected: z.boolean(),
  timeline: z.array(TimelineEntry),
  error: z.string().optional(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

export const ClusterStatus = z.object({
  cluster: z.string(),
  generatedAt: z.number(),
  nodes: z.array(NodeStatus),
});
export type ClusterStatus = z.infer<typeof ClusterStatus>;

export const TokenView = z.object({
  id: z.string(),
  description: z.string(),
  roles: z.array(NodeRole),
  expiresAt: z.number(),
  maxUses: z.number().int(),
  nodeNames: z.array(z.string()).optional(),
  usedBy: z.array(z.string()),
  revoked: z.boolean(),
  createdAt: z.number(),
});
export type TokenView = z.infer<typeof TokenView>;

export const CreateTokenRequest = z.object({
  roles: z.array(NodeRole).min(1),
  ttlSeconds: z.number().int().positive().max(30 * 86400),
  maxUses: z.number().int().positive().max(100000),
  /** Restrict the token to these node names. */
  nodeNames: z.array(NodeName).min(1).max(100000).optional(),
  description: z.string().max(200).default(""),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;
