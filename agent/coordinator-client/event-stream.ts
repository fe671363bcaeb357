import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { API } from "../../shared/join.js";
import { CoordinatorFrame, type AgentEvent, type AgentEventInput } from "../../shared/events.js";
import { backoffDelay } from "../../shared/backoff.js";
import type { Logger } from "../../shared/log.js";

/**
 * The agent's progress stream. Events are numbered, kept until the coordinator acknowledges
 * them (after it has fsynced them) and resent after every reconnect, so a coordinator restart or
 * a dropped connection loses nothing. Coordinator frames (manifest changed, barrier flipped)
 * are handed to `onFrame`.
 */
const MAX_BUFFERED = 20_000;
const MAX_FRAME_EVENTS = 500;

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
    const event = { ...input, ts: input.ts ?? Date.now(), seq: this.seq++, runId: this.runId } as AgentEvent;
    this.pending.push(event);
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
    const ws = new WebSocket(url, { ca: this.tls.caPem, cert: this.tls.certPem, key: this.tls.keyPem, handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on("open", () => {
      this.attempt = 0;
      this.sentUpTo = -1;
      this.sendPending();
    });
    ws.on("message", (data) => this.onMessage(String(data)));
    ws.on("error", (err) => this.log.debug("event stream error", { error: err.message }));
    ws.on("close", () => {
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
    for (let i = 0; i < unsent.length; i += MAX_FRAME_EVENTS) {
      ws.send(JSON.stringify({ type: "events", events: unsent.slice(i, i + MAX_FRAME_EVENTS) }));
    }
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
