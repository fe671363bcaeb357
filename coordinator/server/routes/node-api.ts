import { Hono } from "hono";
import { ApiError } from "../../../shared/errors.js";
import { API } from "../../../shared/join.js";
import { BARRIERS } from "../../barriers.js";
import type { Coordinator } from "../../coordinator.js";
import type { AppEnv } from "../env.js";
import { requireNode } from "../middleware/client-identity.js";

/** What a joined node may ask over mTLS: its manifest and cluster barriers. */
export function nodeRoutes(co: Coordinator) {
  const app = new Hono<AppEnv>();
  app.get(API.manifest, requireNode(co), async (c) => c.json(await co.manifests.current(c.get("node").name)));
  app.get(`${API.barriers}/:name`, requireNode(co), (c) => {
    const name = c.req.param("name");
    // Own keys only: a plain index would answer `__proto__` or `constructor` from the prototype.
    const barrier = Object.hasOwn(BARRIERS, name) ? BARRIERS[name] : undefined;
    if (!barrier) throw new ApiError(404, "barrier_unknown", `no barrier named ${name}; known: ${Object.keys(BARRIERS).join(", ")}`);
    return c.json({ name, ready: co.barrier(name) ?? false, describe: barrier.describe });
  });
  return app;
}
