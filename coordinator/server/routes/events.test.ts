import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineWebSocketHelper, type WSEvents } from "hono/ws";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentEvent } from "../../../shared/events.js";
import { API } from "../../../shared/join.js";
import { createLogger } from "../../../shared/log.js";
import type { AgentStream, Coordinator } from "../../coordinator.js";
import { Metrics } from "../../metrics.js";
import { EventLog } from "../../state/event-log.js";
import { nodeRecord } from "../../state/test-fixtures.js";
import { eventRoutes } from "./events.js";

/** The TLS socket of a node that joined as n1 (serial 01, as in nodeRecord). */
const nodeEnv = {
  incoming: {
    socket: { authorized: true, getPeerCertificate: () => ({ subject: { CN: "system:node:n1", O: "system:nodes" }, serialNumber: "01" }) },
  },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-events-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A socket that records what the route sends and how it closed. */
class FakeSocket implements AgentStream {
  readyState = 1;
  sent: unknown[] = [];
  closedWith: number | undefined;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  acks() {
    return this.sent.filter((f) => (f as { type: string }).type === "ack");
  }
}

/**
 * The route over a stand-in coordinator with a real event log. `failAppends` makes that many
 * appends fail first; `manifest` replaces the manifest lookup done on open.
 */
function setUp(options: { failAppends?: number; manifest?: () => Promise<{ revision: number }> } = {}) {
  const eventLog = new EventLog(join(dir, "n1.jsonl"));
  let failures = options.failAppends ?? 0;
  const co = {
    store: {
      getNode: (name: string) => (name === "n1" ? nodeRecord("n1") : undefined),
      eventLog: () => ({ append: (batch: AgentEvent[]) => (failures-- > 0 ? Promise.reject(new Error("EIO")) : eventLog.append(batch)) }),
    },
    metrics: new Metrics(),
    manifests: { current: options.manifest ?? (async () => ({ revision: 1 })) },
    attachStream: () => undefined,
    detachStream: () => undefined,
    refreshBarriers: async () => undefined,
  } as unknown as Coordinator;
  const logged: string[] = [];
  const log = createLogger({ component: "test", write: (line) => void logged.push(line) });
  let events: WSEvents | undefined;
  const upgrade = defineWebSocketHelper((_c, e) => {
    events = e;
    return new Response(null, { status: 200 });
  });
  const app = eventRoutes(co, upgrade, log);
  /** Opens one connection; `frame` sends a frame on it. */
  const connect = async () => {
    const res = await app.request(API.events, {}, nodeEnv);
    expect(res.status).toBe(200);
    const ws = new FakeSocket();
    const handlers = events!;
    handlers.onOpen?.(new Event("open"), ws as never);
    const frame = (value: unknown) => handlers.onMessage?.(new MessageEvent("message", { data: typeof value === "string" ? value : JSON.stringify(value) }), ws as never);
    return { ws, frame };
  };
  /** Waits for the appends already queued on the log. */
  const drained = () => eventLog.append([]);
  return { eventLog, logged, connect, drained };
}

const ev = (seq: number, over: Record<string, unknown> = {}) => ({ type: "step.started", runId: "r1", seq, ts: 1000 + seq, stepId: `s${seq}`, ...over });

describe("event stream", () => {
  it("stores the valid events of a frame, drops invalid ones with a content-free warning, and acks the frame's highest seq", async () => {
    const { eventLog, logged, connect } = setUp();
    const { ws, frame } = await connect();
    frame({
      type: "events",
      events: [
        ev(0),
        ev(1, { stepId: undefined, secretish: "TOPSECRET-1" }), // a required field missing
        ev(2),
        ev(3, { type: "log", level: "info", message: "x".repeat(5000) + "TOPSECRET-2" }), // message too long
        42,
        { runId: "", seq: 9, type: "step.started", stepId: "s9" }, // runId not well-formed: no ack from it
      ],
    });
    await vi.waitFor(() => expect(ws.acks()).toHaveLength(1));
    expect(ws.closedWith).toBeUndefined();
    expect((await eventLog.load()).map((e) => e.seq)).toEqual([0, 2]);
    expect(ws.acks()).toEqual([{ type: "ack", runId: "r1", seq: 3 }]);
    const warnings = logged.filter((l) => l.includes("dropping an invalid agent event"));
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toContain('"type":"step.started"');
    expect(warnings[0]).toContain('"seq":1');
    expect(logged.join("\n")).not.toContain("TOPSECRET");

    // The stream goes on: the next frame is stored and acknowledged.
    frame({ type: "events", events: [ev(4)] });
    await vi.waitFor(() => expect(ws.acks()).toHaveLength(2));
    expect((await eventLog.load()).map((e) => e.seq)).toEqual([0, 2, 4]);
    expect(ws.acks().at(-1)).toEqual({ type: "ack", runId: "r1", seq: 4 });
  });

  it("closes with 1007 on a frame that is not even {type: events, events: [...]}", async () => {
    const { eventLog, connect } = setUp();
    for (const bad of ["{not json", { type: "other", events: [] }, { type: "events", events: "nope" }, { type: "events", events: Array.from({ length: 1001 }, (_, i) => ev(i)) }]) {
      const { ws, frame } = await connect();
      frame(bad);
      await vi.waitFor(() => expect(ws.closedWith).toBe(1007));
      expect(ws.acks()).toEqual([]);
    }
    expect(await eventLog.load()).toEqual([]);
  });

  it("after a storage failure, stores none of the frames queued behind it, so the resend is not dropped as duplicates", async () => {
    const { eventLog, connect, drained } = setUp({ failAppends: 1 });
    const first = await connect();
    first.frame({ type: "events", events: [ev(0), ev(1)] });
    first.frame({ type: "events", events: [ev(2), ev(3)] }); // already queued when the first fails
    await vi.waitFor(() => expect(first.ws.closedWith).toBe(1011));
    await drained();
    expect(first.ws.acks()).toEqual([]);
    expect(await eventLog.load()).toEqual([]);

    // The agent reconnects and resends everything unacknowledged.
    const second = await connect();
    second.frame({ type: "events", events: [ev(0), ev(1), ev(2), ev(3)] });
    await vi.waitFor(() => expect(second.ws.acks()).toEqual([{ type: "ack", runId: "r1", seq: 3 }]));
    expect((await eventLog.load()).map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });

  it("logs a failed manifest lookup on open instead of leaving an unhandled rejection", async () => {
    const { logged, connect } = setUp({ manifest: () => Promise.reject(new Error("EIO: disk on fire")) });
    const { ws } = await connect();
    await vi.waitFor(() => expect(logged.some((l) => l.includes("announcing the manifest revision failed") && l.includes("EIO: disk on fire"))).toBe(true));
    expect(ws.sent).toEqual([]);
  });
});
