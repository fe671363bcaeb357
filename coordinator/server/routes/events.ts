import { Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { AgentFrame, type AgentEvent } from "../../../shared/events.js";
import { API } from "../../../shared/join.js";
import type { Logger } from "../../../shared/log.js";
import type { Coordinator, AgentStream } from "../../coordinator.js";
import type { AppEnv } from "../env.js";
import { requireNode } from "../middleware/client-identity.js";

/**
 * The agents' event stream (WebSocket over mTLS). Each frame's events are appended to the node's
 * log and fsynced before the ack, so an agent keeps unacknowledged events and resends them after
 * a reconnect; duplicates are dropped by (runId, seq).
 */
export function eventRoutes(co: Coordinator, upgradeWebSocket: UpgradeWebSocket, log: Logger) {
  const app = new Hono<AppEnv>();
  app.get(
    API.events,
    requireNode(co),
    upgradeWebSocket((c) => {
      const node = c.get("node");
      let queue: Promise<void> = Promise.resolve();
      return {
        onOpen: (_evt, ws) => {
          co.attachStream(node.name, ws as AgentStream);
          void co.manifests.current(node.name).then((m) => ws.send(JSON.stringify({ type: "manifest", revision: m.revision })));
        },
        onMessage: (evt, ws) => {
          // Frames are handled strictly in order: acks must never run ahead of the log.
          queue = queue.then(() => handleFrame(co, node.name, String(evt.data), ws as AgentStream, log));
        },
        onClose: (_evt, ws) => co.detachStream(node.name, ws as AgentStream),
        onError: (_evt, ws) => co.detachStream(node.name, ws as AgentStream),
      };
    }),
  );
  return app;
}

async function handleFrame(co: Coordinator, nodeName: string, data: string, ws: AgentStream, log: Logger): Promise<void> {
  let frame: AgentFrame;
  try {
    const parsed = AgentFrame.safeParse(JSON.parse(data));
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    frame = parsed.data;
  } catch (err) {
    log.warn("bad event frame", { node: nodeName, reason: (err as Error).message });
    ws.close(1007, "invalid event frame");
    return;
  }
  try {
    const stored = await co.store.eventLog(nodeName).append(frame.events);
    for (const e of stored) co.metrics.events.inc({ type: e.type });
    for (const [runId, seq] of highestSeqPerRun(frame.events)) ws.send(JSON.stringify({ type: "ack", runId, seq }));
    if (stored.some((e) => e.type === "converged" || e.type === "step.failed")) await co.refreshBarriers();
  } catch (err) {
    log.error("storing events failed", { node: nodeName, error: (err as Error).message });
    ws.close(1011, "could not store events");
  }
}

function highestSeqPerRun(events: AgentEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) out.set(e.runId, Math.max(out.get(e.runId) ?? -1, e.seq));
  return out;
}
