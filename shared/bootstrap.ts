import { z } from "zod";
import { CA_PIN_PATTERN } from "./ca-pin.js";
import { JoinToken } from "./token.js";
import { NodeRole, NodeName } from "./roles.js";

/**
 * `/etc/sprout/bootstrap.yaml`: everything a node needs to find and trust its coordinator.
 * Written by cloud-init user-data, the local provider or the ssh provider — never by hand.
 * It holds a secret (the join token), so it is mode 0600. The token is used once: after the
 * join the node authenticates with its certificate, and the token expires with its TTL.
 */
export const DEFAULT_BOOTSTRAP_PATH = "/etc/sprout/bootstrap.yaml";

export const Bootstrap = z.strictObject({
  apiVersion: z.literal("sprout.dev/v1alpha1").default("sprout.dev/v1alpha1"),
  kind: z.literal("Bootstrap").default("Bootstrap"),
  /** Tried in order; several allow a standby coordinator. */
  coordinators: z.array(z.url({ protocol: /^https$/, error: "must be an https:// URL" })).min(1),
  token: JoinToken,
  caPin: z.string().regex(CA_PIN_PATTERN, "must be sha256:<64 hex digits>"),
  /** Defaults to the machine's hostname. */
  nodeName: NodeName.optional(),
  roles: z.array(NodeRole).min(1),
  /** Addresses the node should be known by; defaults to its non-loopback IPv4 addresses. */
  addresses: z.array(z.string()).optional(),
});
export type Bootstrap = z.infer<typeof Bootstrap>;
export type BootstrapInput = z.input<typeof Bootstrap>;
