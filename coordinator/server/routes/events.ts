import { Hono } from "hono";
import { BARRIER_STEPS } from "../../barriers.js";
import type { UpgradeWebSocket } from "hono/ws";
import { z } from "zod";
import { AgentEvent, AgentEventKey, MAX_EVENTS_PER_FRAME } from "../../../shared/events.js";
import { API } from "../../../shared/join.js";
import type { Logger } from "../../../shared/log.js";
import type { Coordinator, AgentStream } from "../../coordinator.js";
import type { AppEnv } from "../env.js";
import { requireNode } from "../middleware/client-identity.js";

/**
 * A frame's outer shape only. Each event is validated on its own, so one bad event (a newer
 * agent's event type, an over-long message) is dropped alone instead of wedging the stream: a
 * refused frame would be resent forever, with everything queued behind it.
 */
const LooseFrame = z.object({ type: z.literal("events"), events: z.array(z.unknown()).max(MAX_EVENTS_PER_FRAME) });

/** One WebSocket's frames: handled strictly in order, and none after we closed it. */
interface Connection {
  queue: Promise<void>;
  closed: boolean;
}

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
      const conn: Connection = { queue: Promise.resolve(), closed: false };
      return {
        onOpen: (_evt, ws) => {
          co.attachStream(node.name, ws as AgentStream);
          // Not awaited by anyone: an error here (state fs failing) must be logged, not become an
          // unhandled rejection that ends the coordinator.
          co.manifests
            .current(node.name)
            .then((m) => ws.send(JSON.stringify({ type: "manifest", revision: m.revision })))
            .catch((err: unknown) => log.error("announcing the manifest revision failed", { node: node.name, error: (err as Error).message }));
        },
        onMessage: (evt, ws) => {
          // Frames are handled strictly in order: acks must never run ahead of the log.
          conn.queue = conn.queue.then(() => handleFrame(co, node.name, String(evt.data), ws as AgentStream, log, conn));
        },
        onClose: (_evt, ws) => co.detachStream(node.name, ws as AgentStream),
        onError: (_evt, ws) => co.detachStream(node.name, ws as AgentStream),
      };
    }),
  );
  return app;
}

async function handleFrame(co: Coordinator, nodeName: string, data: string, ws: AgentStream, log: Logger, conn: Connection): Promise<void> {
  // Frames queued behind one we closed over are not stored: storing them would move the dedup
  // high-water mark past the refused events, and the agent's resend of those would be dropped
  // as duplicates. The agent resends all of them after it reconnects.
  if (conn.closed) return;
  const events = parseFrame(data);
  if (typeof events === "string") {
    log.warn("bad event frame", { node: nodeName, reason: events });
    closeConnection(conn, ws, 1007, "invalid event frame");
    return;
  }
  const valid: AgentEvent[] = [];
  for (const raw of events) {
    const parsed = AgentEvent.safeParse(raw);
    if (parsed.success) valid.push(parsed.data);
    else log.warn("dropping an invalid agent event", { node: nodeName, ...eventLabel(raw) });
  }
  try {
    const stored = await co.store.eventLog(nodeName).append(valid);
    for (const e of stored) co.metrics.events.inc({ type: e.type });
    // Invalid events are acknowledged too: resending them could never succeed.
    for (const [runId, seq] of highestSeqPerRun(events)) ws.send(JSON.stringify({ type: "ack", runId, seq }));
    // Barriers follow convergence and failures, and the few steps a barrier reads.
    if (stored.some((e) => e.type === "converged" || e.type === "step.failed" || (e.type === "step.finished" && BARRIER_STEPS.has(e.stepId)))) await co.refreshBarriers();
  } catch (err) {
    log.error("storing events failed", { node: nodeName, error: (err as Error).message });
    closeConnection(conn, ws, 1011, "could not store events");
  }
}

/** The frame's events, or why the frame is not even `{type: "events", events: [...]}`. */
function parseFrame(data: string): unknown[] | string {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return "malformed JSON"; // the parser's message quotes the frame: no event content in the log
  }
  const parsed = LooseFrame.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  return parsed.data.events;
}

function closeConnection(conn: Connection, ws: AgentStream, code: number, reason: string): void {
  conn.closed = true;
  ws.close(code, reason);
}

/** What the log may say about an invalid event: its type and seq, never its content. */
function eventLabel(raw: unknown): { type?: string; seq?: number } {
  const { type, seq } = (typeof raw === "object" && raw !== null ? raw : {}) as { type?: unknown; seq?: unknown };
  return {
    type: typeof type === "string" ? type.slice(0, 64) : undefined,
    seq: typeof seq === "number" ? seq : undefined,
  };
}

/** Per run, the highest seq among events whose runId and seq are well-formed, valid or not. */
function highestSeqPerRun(events: unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of events) {
    const key = AgentEventKey.safeParse(raw);
    if (key.success) out.set(key.data.runId, Math.max(out.get(key.data.runId) ?? -1, key.data.seq));
  }
  return out;
}
