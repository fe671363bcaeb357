import { z } from "zod";
import { JoinToken } from "./token.js";
import { NodeRole, NodeName } from "./roles.js";
import { Ipv4 } from "./net.js";
import { NodeManifest } from "./node-manifest.js";

/** Facts the agent gathers about its machine (systeminformation) and reports on join. */
export const NodeFacts = z.object({
  hostname: z.string().max(253),
  machineId: z.string().max(128),
  cpus: z.number().int().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  disks: z.array(z.object({ name: z.string().max(256), sizeBytes: z.number().nonnegative(), type: z.string().max(64) })).max(64),
  nics: z.array(z.object({ name: z.string().max(64), mac: z.string().max(64), ipv4: z.array(Ipv4).max(32) })).max(64),
  os: z.string().max(256),
  kernel: z.string().max(256),
  /** Contents of /etc/sprout/image-version on the node, or "none" outside a Sprout image. */
  imageVersion: z.string().max(128),
  agentVersion: z.string().max(64),
  /**
   * The node cannot lower a process's oom_score_adj (no CAP_SYS_RESOURCE: a container-like
   * sandbox, such as the local provider's machines). containerd must then leave oom_score_adj at
   * the runtime's own value, or runc fails to start every pod sandbox.
   */
  oomScoreAdjRestricted: z.boolean().default(false),
});
export type NodeFacts = z.infer<typeof NodeFacts>;

export const JoinRequest = z.object({
  protocolVersion: z.number().int().positive(),
  token: JoinToken,
  nodeName: NodeName,
  roles: z.array(NodeRole).min(1).max(4),
  /** Addresses the node wants in its certificate; each must appear in `facts.nics`. */
  addresses: z.array(Ipv4).min(1).max(16),
  /** PEM PKCS#10 request; the private key never leaves the node. */
  csr: z.string().min(100).max(16384),
  facts: NodeFacts,
});
export type JoinRequest = z.infer<typeof JoinRequest>;

export const JoinResponse = z.object({
  nodeName: NodeName,
  /** PEM certificate for the node, signed by the cluster CA. */
  certificate: z.string(),
  /** PEM bundle of the cluster CA (what kubelets and agents trust). */
  caBundle: z.string(),
  manifest: NodeManifest,
});
export type JoinResponse = z.infer<typeof JoinResponse>;

/** The error body every non-2xx answer carries. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const API = {
  join: "/v1/join",
  manifest: "/v1/manifest",
  barriers: "/v1/barriers",
  certificates: "/v1/certificates",
  events: "/v1/events",
  health: "/healthz",
  metrics: "/metrics",
  adminStatus: "/v1/admin/status",
  adminTokens: "/v1/admin/tokens",
} as const;

/** Limits the server enforces and the agent respects. */
export const MAX_JOIN_BODY_BYTES = 64 * 1024;
