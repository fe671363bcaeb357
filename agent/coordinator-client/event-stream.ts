import { randomBytes } from "node:crypto";
import WebSocket, { type ClientOptions } from "ws";
import { API } from "../../shared/join.js";
import { AgentEvent, CoordinatorFrame, type AgentEventInput } from "../../shared/events.js";
import { backoffDelay } from "../../shared/backoff.js";
import type { Logger } from "../../shared/log.js";
import { checkCoordinatorIdentity } from "./pinned-tls.js";

/**
 * The agent's progress stream. Events are numbered, kept until the coordinator acknowledges
 * them (after it has fsynced them) and resent after every reconnect, so a coordinator restart or
 * a dropped connection loses nothing. Coordinator frames (manifest changed, barrier flipped)
 * are handed to `onFrame`.
 */
const MAX_BUFFERED = 20_000;
const MAX_FRAME_EVENTS = 500;
/** Well under the coordinator's 1 MiB WebSocket message limit. */
const MAX_FRAME_BYTES = 512 * 1024;
/** A coordinator that stops answering pings for this long is gone: reconnect. */
const HEARTBEAT_MS = 15_000;

/** Strings longer than the schema allows are cut, so no event can be refused for its size. */
const LIMITS: Record<string, number> = { phase: 64, message: 4096, reason: 4096, logTail: 16384, stepId: 200, waitingFor: 1024 };

function bounded(event: AgentEvent): AgentEvent {
  const out: Record<string, unknown> = { ...event };
  for (const [field, max] of Object.entries(LIMITS)) {
    const v = out[field];
    if (typeof v === "string" && v.length > max) out[field] = field === "logTail" ? v.slice(-max) : v.slice(0, max);
  }
  return out as AgentEvent;
}

export class EventStream {
  readonly runId = randomBytes(8).toString("hex");
  private seq = 0;
  /** Highest seq sent on the current connection; a new connection resends everything unacked. */
  private sentUpTo = -1;
  private pending: AgentEvent[] = [];
  private ws: WebSocket | undefined;
  private attempt = 0;
  private closed = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];
  private frameHandlers: ((f: CoordinatorFrame) => void)[] = [];

  constructor(
    private readonly coordinatorUrl: string,
    private readonly tls: { caPem: string; certPem: string; keyPem: string },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.connect();
  }

  onFrame(handler: (f: CoordinatorFrame) => void): void {
    this.frameHandlers.push(handler);
  }

  emit(input: AgentEventInput): void {
    // Validated here, where a bad event can be dropped alone, rather than refused by the
    // coordinator together with everything sent after it.
    const parsed = AgentEvent.safeParse(bounded({ ...input, ts: input.ts ?? Date.now(), seq: this.seq, runId: this.runId } as AgentEvent));
    if (!parsed.success) {
      this.log.warn("dropping an event that does not match the protocol", { type: input.type, problem: parsed.error.issues[0]?.message });
      return;
    }
    this.seq++;
    this.pending.push(parsed.data);
    if (this.pending.length > MAX_BUFFERED) {
      // Out of room while the coordinator is away: give up log lines first, then the oldest event.
      const i = this.pending.findIndex((e) => e.type === "log");
      this.pending.splice(i >= 0 ? i : 0, 1);
    }
    // Coalesce bursts (many steps finishing together) into one frame.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.sendPending();
    }, 20);
  }

  /** Resolves once every emitted event is acknowledged, or after `timeoutMs` (returns false). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.pending.length === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000);
  }

  private connect(): void {
    if (this.closed) return;
    const url = new URL(API.events, this.coordinatorUrl.replace(/^https:/, "wss:")).href;
    const ws = new WebSocket(url, {
      ca: this.tls.caPem,
      cert: this.tls.certPem,
      key: this.tls.keyPem,
      handshakeTimeout: 10_000,
      // ws passes this to tls.connect, which calls it with Node's signature; @types/ws declares an older one.
      checkServerIdentity: checkCoordinatorIdentity as unknown as ClientOptions["checkServerIdentity"],
    });
    this.ws = ws;
    let alive = true;
    const heartbeat = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (!alive) return ws.terminate(); // no pong since the last ping: the coordinator is gone
      alive = false;
      ws.ping();
    }, HEARTBEAT_MS);
    heartbeat.unref();
    ws.on("pong", () => (alive = true));
    ws.on("open", () => {
      this.attempt = 0;
      this.sentUpTo = -1;
      this.sendPending();
    });
    ws.on("message", (data) => this.onMessage(String(data)));
    ws.on("error", (err) => this.log.debug("event stream error", { error: err.message }));
    ws.on("close", () => {
      clearInterval(heartbeat);
      if (this.ws === ws) this.ws = undefined;
      if (this.closed) return;
      const delay = backoffDelay(++this.attempt, { initialMs: 250, maxMs: 5_000 });
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private sendPending(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const unsent = this.pending.filter((e) => e.seq > this.sentUpTo);
    let frame: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (frame.length > 0) ws.send(`{"type":"events","events":[${frame.join(",")}]}`);
      frame = [];
      bytes = 0;
    };
    for (const e of unsent) {
      const json = JSON.stringify(e);
      if (frame.length >= MAX_FRAME_EVENTS || bytes + json.length > MAX_FRAME_BYTES) flush();
      frame.push(json);
      bytes += json.length + 1;
    }
    flush();
    if (unsent.length > 0) this.sentUpTo = unsent.at(-1)!.seq;
  }

  private onMessage(text: string): void {
    let frame: CoordinatorFrame;
    try {
      frame = CoordinatorFrame.parse(JSON.parse(text));
    } catch {
      this.log.warn("ignoring malformed frame from coordinator");
      return;
    }
    if (frame.type === "ack") {
      if (frame.runId === this.runId) this.pending = this.pending.filter((e) => e.seq > frame.seq);
      if (this.pending.length === 0) this.drainWaiters.splice(0).forEach((w) => w());
      return;
    }
    for (const h of this.frameHandlers) h(frame);
  }
}
