import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { API } from "../../../shared/join.js";
import { silentLogger } from "../../../shared/log.js";
import { Coordinator } from "../../coordinator.js";
import { nodeRecord } from "../../state/test-fixtures.js";
import type { AppEnv } from "../env.js";
import { errorHandler } from "../middleware/error-handler.js";
import { nodeRoutes } from "./node-api.js";

/** The TLS socket of a node that joined as n1 (serial 01, as in nodeRecord). */
const nodeEnv = {
  incoming: {
    socket: { authorized: true, getPeerCertificate: () => ({ subject: { CN: "system:node:n1", O: "system:nodes" }, serialNumber: "01" }) },
  },
};

function makeApp() {
  // The real barrier lookup over a stand-in's state: only what the route touches.
  const co = {
    store: { getNode: (name: string) => (name === "n1" ? nodeRecord("n1") : undefined) },
    barrierState: { "apiserver-ready": true },
    barrier: Coordinator.prototype.barrier,
  } as unknown as Coordinator;
  const app = new Hono<AppEnv>();
  app.route("/", nodeRoutes(co));
  app.onError(errorHandler(silentLogger));
  return app;
}

describe("GET /v1/barriers/:name", () => {
  it("answers a known barrier", async () => {
    const res = await makeApp().request(`${API.barriers}/apiserver-ready`, {}, nodeEnv);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "apiserver-ready", ready: true });
  });

  it("answers names inherited from Object.prototype with 404, not prototype junk", async () => {
    const app = makeApp();
    for (const name of ["__proto__", "constructor", "hasOwnProperty", "toString"]) {
      const res = await app.request(`${API.barriers}/${name}`, {}, nodeEnv);
      expect(res.status, name).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("barrier_unknown");
    }
  });

  it("Coordinator.barrier looks at own keys only", () => {
    const state = { barrierState: { "apiserver-ready": false } };
    expect(Coordinator.prototype.barrier.call(state as unknown as Coordinator, "apiserver-ready")).toBe(false);
    expect(Coordinator.prototype.barrier.call(state as unknown as Coordinator, "constructor")).toBeUndefined();
  });
});
