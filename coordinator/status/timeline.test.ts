import { describe, expect, it } from "vitest";
import type { AgentEvent, AgentEventInput } from "../../shared/events.js";
import type { NodeStatus } from "../../shared/status.js";
import { nodeRecord } from "../state/test-fixtures.js";
import { buildNodeStatus, timelinesToCsv } from "./timeline.js";

const node = nodeRecord("svc-1", { joinedAt: 1_000, manifestRevision: 3 });

/** Builds a run's events with consecutive seq numbers and timestamps. */
function run(runId: string, inputs: AgentEventInput[], startTs = 10_000): AgentEvent[] {
  return inputs.map((e, seq) => ({ ...e, runId, seq, ts: e.ts ?? startTs + seq * 100 }) as AgentEvent);
}

describe("buildNodeStatus", () => {
  it("is `joined` with only the join entry before any event", () => {
    const s = buildNodeStatus(node, [], false);
    expect(s.phase).toBe("joined");
    expect(s.timeline).toEqual([{ name: "join", finishedAt: 1_000, status: "finished" }]);
    expect(s).toMatchObject({ name: "svc-1", revision: 3, connected: false, joinedAt: 1_000 });
    expect(s.appliedRevision).toBeUndefined();
    expect(s.lastEventAt).toBeUndefined();
    expect(s.error).toBeUndefined();
  });

  it("is `configuring` while phases and steps run", () => {
    const events = run("r1", [
      { type: "phase", phase: "configure r3", status: "started" },
      { type: "step.started", stepId: "kubelet/config" },
    ]);
    const s = buildNodeStatus(node, events, true);
    expect(s.phase).toBe("configuring");
    expect(s.timeline.map((t) => [t.name, t.status])).toEqual([
      ["join", "finished"],
      ["configure r3", "running"],
      ["step:kubelet/config", "running"],
    ]);
    expect(s.lastEventAt).toBe(10_100);
    expect(s.connected).toBe(true);
  });

  it("is `waiting` while a step waits, saying for what", () => {
    const events = run("r1", [
      { type: "step.started", stepId: "kubelet/wait-apiserver" },
      { type: "step.waiting", stepId: "kubelet/wait-apiserver", waitingFor: 'barrier "apiserver-ready"', attempt: 1 },
      { type: "step.started", stepId: "kubelet/config" },
      { type: "step.finished", stepId: "kubelet/config", outcome: "changed", durationMs: 5 },
    ]);
    const s = buildNodeStatus(node, events, true);
    expect(s.phase).toBe("waiting");
    expect(s.timeline.find((t) => t.name === "step:kubelet/wait-apiserver")).toMatchObject({ status: "waiting", detail: 'barrier "apiserver-ready"', startedAt: 10_000 });
    expect(s.timeline.find((t) => t.name === "step:kubelet/config")).toMatchObject({ status: "finished", detail: "changed", startedAt: 10_200, finishedAt: 10_300, durationMs: 5 });
  });

  it("is `converged` after a clean pass, with the applied revision", () => {
    const events = run("r1", [
      { type: "phase", phase: "configure r3", status: "started" },
      { type: "step.started", stepId: "a" },
      { type: "step.waiting", stepId: "a", waitingFor: "x", attempt: 1 },
      { type: "step.finished", stepId: "a", outcome: "changed", durationMs: 150 },
      { type: "converged", revision: 3, changed: 1, failed: 0 },
      { type: "phase", phase: "configure r3", status: "finished", durationMs: 400 },
    ]);
    const s = buildNodeStatus(node, events, true);
    expect(s.phase).toBe("converged");
    expect(s.appliedRevision).toBe(3);
    expect(s.error).toBeUndefined();
    expect(s.timeline.find((t) => t.name === "configure r3")).toMatchObject({ status: "finished", startedAt: 10_000, finishedAt: 10_500, durationMs: 400 });
  });

  it("is `failed` when a step fails, naming it, until a later clean pass", () => {
    const failing = run("r1", [
      { type: "step.started", stepId: "containerd/service" },
      { type: "step.failed", stepId: "containerd/service", reason: "systemctl start failed", durationMs: 20 },
      { type: "step.finished", stepId: "kubelet/service", outcome: "skipped", durationMs: 0 },
      { type: "converged", revision: 3, changed: 0, failed: 1 },
    ]);
    const s = buildNodeStatus(node, failing, true);
    expect(s.phase).toBe("failed");
    expect(s.error).toBe("step containerd/service: systemctl start failed");
    expect(s.appliedRevision).toBe(3);
    expect(s.timeline.find((t) => t.name === "step:containerd/service")).toMatchObject({ status: "failed", detail: "systemctl start failed" });

    const recovered = [
      ...failing,
      ...run("r1", [
        { type: "step.started", stepId: "containerd/service" },
        { type: "step.finished", stepId: "containerd/service", outcome: "changed", durationMs: 5 },
        { type: "converged", revision: 4, changed: 1, failed: 0 },
      ]).map((e) => ({ ...e, seq: e.seq + failing.length })),
    ];
    const r = buildNodeStatus(node, recovered, true);
    expect(r.phase).toBe("converged");
    expect(r.error).toBeUndefined();
    expect(r.appliedRevision).toBe(4);
  });

  it("is `failed` when a phase fails, with its message", () => {
    const events = run("r1", [
      { type: "phase", phase: "manifest", status: "started" },
      { type: "phase", phase: "manifest", status: "failed", durationMs: 3, message: "HTTP 500" },
    ]);
    const s = buildNodeStatus(node, events, false);
    expect(s.phase).toBe("failed");
    expect(s.error).toBe("manifest: HTTP 500");
    expect(s.timeline.find((t) => t.name === "manifest")).toMatchObject({ status: "failed", detail: "HTTP 500" });
  });

  it("counts only the latest agent run", () => {
    const old = run("old-run", [
      { type: "step.started", stepId: "a" },
      { type: "step.failed", stepId: "a", reason: "boom", durationMs: 1 },
      { type: "step.started", stepId: "only-in-old" },
    ]);
    const fresh = run("new-run", [{ type: "step.started", stepId: "b" }], 20_000);
    const s = buildNodeStatus(node, [...old, ...fresh], true);
    expect(s.phase).toBe("configuring");
    expect(s.error).toBeUndefined();
    expect(s.timeline.map((t) => t.name)).toEqual(["join", "step:b"]);
    expect(s.lastEventAt).toBe(20_000);
  });

  it("ignores log events for the phase", () => {
    const s = buildNodeStatus(node, run("r1", [{ type: "log", level: "warn", message: "hello" }]), true);
    expect(s.phase).toBe("joined");
    expect(s.timeline).toHaveLength(1);
  });
});

describe("timelinesToCsv", () => {
  const status = (over: Partial<NodeStatus>): NodeStatus => ({ ...buildNodeStatus(node, [], true), ...over });

  it("writes a header and one row per node and entry", () => {
    const csv = timelinesToCsv([
      status({ name: "a", timeline: [{ name: "join", finishedAt: 0, status: "finished" }] }),
      status({ name: "b", timeline: [{ name: "step:x", startedAt: 1_000, finishedAt: 2_500, durationMs: 1500.4, status: "finished", detail: "changed" }] }),
    ]);
    expect(csv).toBe(
      "node,entry,status,startedAt,finishedAt,durationMs,detail\n" +
        "a,join,finished,,1970-01-01T00:00:00.000Z,,\n" +
        "b,step:x,finished,1970-01-01T00:00:01.000Z,1970-01-01T00:00:02.500Z,1500,changed\n",
    );
  });

  it("quotes cells holding commas, quotes or line breaks, doubling the quotes", () => {
    const csv = timelinesToCsv([
      status({
        name: "n",
        timeline: [
          { name: "step:a", status: "failed", detail: 'exit 1: "bad", try again' },
          { name: "step:b", status: "failed", detail: "line one\nline two" },
          { name: "step:c", status: "failed", detail: "cr\rhere" },
        ],
      }),
    ]);
    const rows = csv.split("\n");
    expect(rows[1]).toBe('n,step:a,failed,,,,"exit 1: ""bad"", try again"');
    expect(csv).toContain('n,step:b,failed,,,,"line one\nline two"\n');
    expect(csv).toContain('n,step:c,failed,,,,"cr\rhere"\n');
    expect(parseCsv(csv).map((r) => r.length)).toEqual([7, 7, 7, 7]);
    expect(parseCsv(csv)[1]![6]).toBe('exit 1: "bad", try again');
  });
});

/** A strict RFC 4180 reader, to check that the output round-trips. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  return rows;
}
