import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../../../shared/errors.js";
import { JoinRequest, MAX_JOIN_BODY_BYTES, API } from "../../../shared/join.js";
import { redactToken } from "../../../shared/token.js";
import type { Logger } from "../../../shared/log.js";
import type { Coordinator } from "../../coordinator.js";
import { join } from "../../join/join-service.js";
import type { AppEnv } from "../env.js";
import { jsonBody } from "../middleware/json-body.js";
import { rateLimit } from "../middleware/rate-limit.js";

/** `POST /v1/join`: token + CSR + facts → certificate, CA bundle, manifest. */
export function joinRoutes(co: Coordinator, log: Logger) {
  const app = new Hono<AppEnv>();
  app.post(
    API.join,
    rateLimit({ ...co.spec.coordinator.joinRateLimit, onLimited: () => co.metrics.rateLimited.inc() }),
    bodyLimit({
      maxSize: MAX_JOIN_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "body_too_large", `join request larger than ${MAX_JOIN_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const started = performance.now();
      let code = "ok";
      try {
        const req = await jsonBody(c, JoinRequest, "join request");
        const res = await join(co, req);
        log.info("node joined", { node: res.nodeName, roles: req.roles, tokenId: redactToken(req.token) });
        return c.json(res);
      } catch (err) {
        code = err instanceof ApiError ? err.code : "invalid_request";
        log.warn("join refused", { code, reason: (err as Error).message });
        throw err;
      } finally {
        co.metrics.joins.inc({ result: code });
        co.metrics.joinSeconds.observe((performance.now() - started) / 1000);
      }
    },
  );
  return app;
}
