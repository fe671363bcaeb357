import { Hono } from "hono";
import { API } from "../../../shared/join.js";
import type { Coordinator } from "../../coordinator.js";
import type { AppEnv } from "../env.js";

/** Liveness and Prometheus metrics; no client certificate needed. */
export function healthRoutes(co: Coordinator) {
  const app = new Hono<AppEnv>();
  app.get(API.health, (c) => c.text("ok"));
  app.get(API.metrics, async (c) => {
    const statuses = await co.nodeStatuses();
    const byPhase = new Map<string, number>();
    for (const s of statuses) byPhase.set(s.phase, (byPhase.get(s.phase) ?? 0) + 1);
    const body = co.metrics.render({
      sprout_nodes: { help: "Joined nodes by phase", values: [...byPhase].map(([phase, n]) => [{ phase }, n]) },
      sprout_agent_streams: { help: "Open agent event streams", values: [[{}, statuses.filter((s) => s.connected).length]] },
      sprout_tokens: { help: "Join tokens", values: [[{}, co.tokens.list().length]] },
    });
    return c.text(body, 200, { "Content-Type": "text/plain; version=0.0.4" });
  });
  return app;
}
