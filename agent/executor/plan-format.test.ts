import { describe, expect, it } from "vitest";
import { renderPlan } from "./plan-format.js";
import type { RunSummary } from "./executor.js";
import { steps } from "./test-helpers.js";

describe("renderPlan", () => {
  it("prints one line per step, then the planned changes grouped by step", () => {
    const summary: RunSummary = {
      mode: "plan",
      outcomes: {
        "etc-k8s": { outcome: "unchanged", durationMs: 1 },
        "kubelet/config": { outcome: "wouldChange", durationMs: 2 },
        "wait/api": { outcome: "wouldChange", durationMs: 0, note: 'would wait for barrier "apiserver-ready" from the coordinator' },
        broken: { outcome: "failed", durationMs: 3, error: "boom" },
        child: { outcome: "skipped", durationMs: 0, note: 'dependency "broken" failed' },
      },
      changed: 2,
      failed: 1,
      skipped: 1,
      durationMs: 10,
      plannedChanges: [
        { action: "write", target: "/etc/kubernetes/kubelet.yaml", detail: "create, 27 bytes, mode 0644", stepId: "kubelet/config" },
        { action: "restart", target: "kubelet.service", stepId: "kubelet/config" },
      ],
    };
    const plan = steps({ kind: "file", id: "kubelet/config", description: "kubelet config", path: "/x", content: "" });
    expect(renderPlan(summary, { steps: plan })).toBe(
      [
        "2 to change, 1 unchanged, 1 failed, 1 skipped",
        "",
        "  = etc-k8s         unchanged",
        "  ~ kubelet/config  would change  (kubelet config)",
        '  ~ wait/api        would change: would wait for barrier "apiserver-ready" from the coordinator',
        "  ! broken          failed: boom",
        '  - child           skipped: dependency "broken" failed',
        "",
        "Planned changes:",
        "  kubelet/config:",
        "    write /etc/kubernetes/kubelet.yaml (create, 27 bytes, mode 0644)",
        "    restart kubelet.service",
        "",
      ].join("\n"),
    );
  });

  it("says so when there is nothing to change", () => {
    const summary: RunSummary = { mode: "plan", outcomes: { a: { outcome: "unchanged", durationMs: 0 } }, changed: 0, failed: 0, skipped: 0, durationMs: 0 };
    expect(renderPlan(summary)).toBe("0 to change, 1 unchanged, 0 failed, 0 skipped\n\n  = a  unchanged\n\nNothing to change.\n");
  });
});
