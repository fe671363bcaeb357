import { z } from "zod";

/** KubeNow's node roles. A node may hold several (the master often acts as edge). */
export const NodeRole = z.enum(["master", "service", "storage", "edge"]);
export type NodeRole = z.infer<typeof NodeRole>;
export const ALL_ROLES = NodeRole.options;

/** Kubernetes node names are DNS-1123 subdomains; we keep them to a single label for hostnames. */
export const NodeName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-'");
