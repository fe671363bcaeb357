import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../../../shared/errors.js";
import { API } from "../../../shared/join.js";
import { SignRequest } from "../../../shared/cert-profiles.js";
import type { Logger } from "../../../shared/log.js";
import type { Coordinator } from "../../coordinator.js";
import { signProfileCertificate } from "../../pki/profile-cert.js";
import type { AppEnv } from "../env.js";
import { requireNode } from "../middleware/client-identity.js";
import { jsonBody } from "../middleware/json-body.js";

/** `POST /v1/certificates`: a joined node's CSR for one profile (control plane, kube-proxy). */
export function certificateRoutes(co: Coordinator, log: Logger) {
  const app = new Hono<AppEnv>();
  app.post(
    API.certificates,
    requireNode(co),
    bodyLimit({
      maxSize: 32 * 1024,
      onError: () => {
        throw new ApiError(413, "body_too_large", "certificate request larger than 32 KiB");
      },
    }),
    async (c) => {
      const node = c.get("node");
      const req = await jsonBody(c, SignRequest, "certificate request");
      const signed = signProfileCertificate(co.pki, req, node, { serviceCidr: co.spec.networks.serviceCidr, clusterDomain: co.spec.networks.clusterDomain, edgeBaseDomain: co.spec.edge.baseDomain });
      log.info("profile certificate issued", { node: node.name, profile: req.profile });
      return c.json(signed);
    },
  );
  return app;
}
