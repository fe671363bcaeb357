import type { TLSSocket } from "node:tls";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/errors.js";
import type { Coordinator } from "../../coordinator.js";
import type { AppEnv } from "../env.js";

/** Organization that marks admin client certificates (issued by `sprout init` to the CLI). */
export const ADMIN_ORG = "sprout:admins";

interface PeerIdentity {
  commonName: string;
  organizations: string[];
  serial: string;
}

/** The verified client certificate of this request, or undefined (no cert, or not signed by our CA). */
function peerIdentity(socket: TLSSocket | undefined): PeerIdentity | undefined {
  if (!socket || typeof socket.getPeerCertificate !== "function" || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const o = cert.subject.O as string | string[] | undefined;
  return {
    commonName: String(cert.subject.CN ?? ""),
    organizations: o === undefined ? [] : Array.isArray(o) ? o : [o],
    serial: cert.serialNumber.toUpperCase(),
  };
}

/** mTLS as a joined node: certificate from our CA, `system:node:<name>`, and the node's current serial. */
export function requireNode(co: Coordinator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = peerIdentity(c.env?.incoming?.socket as TLSSocket | undefined);
    if (!id) throw new ApiError(401, "client_certificate_required", "this endpoint needs the node's client certificate from its join");
    const m = /^system:node:(.+)$/.exec(id.commonName);
    const node = m && id.organizations.includes("system:nodes") ? co.store.getNode(m[1]!) : undefined;
    if (!node) throw new ApiError(403, "not_a_node", `certificate ${id.commonName} does not belong to a joined node`);
    if (node.certificateSerial.toUpperCase() !== id.serial) {
      throw new ApiError(403, "certificate_superseded", `certificate of ${node.name} is not its current one`);
    }
    c.set("node", node);
    await next();
  };
}

/** mTLS as an administrator (the CLI). */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = peerIdentity(c.env?.incoming?.socket as TLSSocket | undefined);
    if (!id || !id.organizations.includes(ADMIN_ORG)) {
      throw new ApiError(401, "admin_certificate_required", "this endpoint needs the admin client certificate from the deployment directory");
    }
    c.set("admin", id.commonName);
    await next();
  };
}
