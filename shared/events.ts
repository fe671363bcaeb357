import { z } from "zod";
import { StepOutcome } from "./steps.js";

/**
 * Progress events an agent streams to the coordinator over its WebSocket. `seq` is per agent
 * process run (`runId`) and strictly increasing, so the coordinator can drop duplicates resent
 * after a reconnect and acknowledge what it has stored.
 */
const eventBase = {
  seq: z.number().int().nonnegative(),
  runId: z.string().min(1).max(64),
  /** Milliseconds since the epoch, node clock. */
  ts: z.number().int().nonnegative(),
};

export const AgentEvent = z.discriminatedUnion("type", [
  /** A named phase of the agent's life: bootstrap, join, manifest, configure, ready. */
  z.object({ ...eventBase, type: z.literal("phase"), phase: z.string().max(64), status: z.enum(["started", "finished", "failed"]), durationMs: z.number().nonnegative().optional(), message: z.string().max(4096).optional() }),
  z.object({ ...eventBase, type: z.literal("step.started"), stepId: z.string().max(200) }),
  z.object({ ...eventBase, type: z.literal("step.waiting"), stepId: z.string().max(200), waitingFor: z.string().max(1024), attempt: z.number().int().positive() }),
  z.object({ ...eventBase, type: z.literal("step.finished"), stepId: z.string().max(200), outcome: StepOutcome, durationMs: z.number().nonnegative() }),
  z.object({ ...eventBase, type: z.literal("step.failed"), stepId: z.string().max(200), reason: z.string().max(4096), logTail: z.string().max(16384).optional(), durationMs: z.number().nonnegative() }),
  /** The executor finished a pass over the manifest at `revision`. */
  z.object({ ...eventBase, type: z.literal("converged"), revision: z.number().int().nonnegative(), changed: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
  z.object({ ...eventBase, type: z.literal("log"), level: z.enum(["info", "warn", "error"]), message: z.string().max(4096) }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** What the agent's event emitter accepts: the stream assigns seq, runId and ts. */
export type AgentEventInput = AgentEvent extends infer E
  ? E extends AgentEvent
    ? Omit<E, "seq" | "runId" | "ts"> & { ts?: number }
    : never
  : never;

/** Identifies an event for dedup and acks; checkable even when the rest of the event is not valid. */
export const AgentEventKey = z.object({ runId: eventBase.runId, seq: eventBase.seq });

export const MAX_EVENTS_PER_FRAME = 1000;

/** Agent → coordinator WebSocket frames. */
export const AgentFrame = z.object({
  type: z.literal("events"),
  events: z.array(AgentEvent).max(MAX_EVENTS_PER_FRAME),
});
export type AgentFrame = z.infer<typeof AgentFrame>;

/** Coordinator → agent WebSocket frames. */
export const CoordinatorFrame = z.discriminatedUnion("type", [
  /** Everything up to and including `seq` of `runId` is stored durably. */
  z.object({ type: z.literal("ack"), runId: z.string(), seq: z.number().int() }),
  /** The node's manifest changed; fetch it again. */
  z.object({ type: z.literal("manifest"), revision: z.number().int().nonnegative() }),
  /** A barrier became true (or false again). */
  z.object({ type: z.literal("barrier"), name: z.string(), ready: z.boolean() }),
]);
export type CoordinatorFrame = z.infer<typeof CoordinatorFrame>;
