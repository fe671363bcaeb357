import { Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import type { Logger } from "../../shared/log.js";
import type { Coordinator } from "../coordinator.js";
import type { AppEnv } from "./env.js";
import { errorHandler } from "./middleware/error-handler.js";
import { joinRoutes } from "./routes/join.js";
import { nodeRoutes } from "./routes/node-api.js";
import { eventRoutes } from "./routes/events.js";
import { adminRoutes } from "./routes/admin.js";
import { healthRoutes } from "./routes/health.js";
import { certificateRoutes } from "./routes/certificates.js";

/** The coordinator's Hono app: routes in modules, one `onError`, a 404 in the same error shape. */
export function createApp(co: Coordinator, upgradeWebSocket: UpgradeWebSocket, log: Logger) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    await next();
    co.metrics.httpRequests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });
  app.route("/", healthRoutes(co));
  app.route("/", joinRoutes(co, log));
  app.route("/", nodeRoutes(co));
  app.route("/", certificateRoutes(co, log));
  app.route("/", eventRoutes(co, upgradeWebSocket, log));
  app.route("/", adminRoutes(co));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError(errorHandler(log));
  return app;
}
