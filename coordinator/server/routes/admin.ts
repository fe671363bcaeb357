import { Hono } from "hono";
import { API } from "../../../shared/join.js";
import { CreateTokenRequest } from "../../../shared/status.js";
import type { Coordinator } from "../../coordinator.js";
import type { AppEnv } from "../env.js";
import { requireAdmin } from "../middleware/client-identity.js";
import { jsonBody } from "../middleware/json-body.js";

/** The CLI's API (admin client certificate): status and token management. */
export function adminRoutes(co: Coordinator) {
  const app = new Hono<AppEnv>();
  app.use("/v1/admin/*", requireAdmin());
  app.get(API.adminStatus, async (c) => c.json(await co.clusterStatus()));
  app.get(API.adminTokens, (c) => c.json(co.tokens.list()));
  app.post(API.adminTokens, async (c) => c.json(await co.tokens.create(await jsonBody(c, CreateTokenRequest, "token request")), 201));
  app.delete(`${API.adminTokens}/:id`, async (c) => c.json(await co.tokens.revoke(c.req.param("id"))));
  return app;
}
