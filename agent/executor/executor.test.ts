import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DryRunHost } from "../host/dry-run-host.js";
import { RealHost } from "../host/real-host.js";
import { runSteps } from "./executor.js";
import { JOURNAL_PATH } from "./journal.js";
import { recorder, steps } from "./test-helpers.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sprout-exec-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const fast = { initialMs: 20, maxMs: 100, jitter: 0.5 };

/** A node's worth of steps that an offline rootfs can take completely. */
function nodePlan() {
  return steps(
    { kind: "directory", id: "etc-k8s", description: "kubernetes config dir", path: "/etc/kubernetes", mode: 0o755 },
    { kind: "file", id: "kubelet/config", description: "kubelet config", path: "/etc/kubernetes/kubelet.yaml", content: "kind: KubeletConfiguration\n", dependsOn: ["etc-k8s"] },
    { kind: "kernelModule", id: "mod/overlay", description: "overlay module", name: "overlay" },
    { kind: "sysctl", id: "sysctl/ip-forward", description: "ip forwarding", key: "net.ipv4.ip_forward", value: "1", dependsOn: ["mod/overlay"] },
    {
      kind: "systemdUnit", id: "kubelet/unit", description: "kubelet unit", name: "kubelet.service",
      content: "[Service]\nExecStart=/usr/bin/kubelet\n[Install]\nWantedBy=multi-user.target\n",
      dependsOn: ["kubelet/config"], restartOnChangeOf: ["kubelet/config"],
    },
  );
}

describe("runSteps: plan validation", () => {
  it("reports a cycle with its ids in order before running anything", async () => {
    const plan = steps(
      { kind: "file", id: "a", description: "a", path: "/a", content: "", dependsOn: ["c"] },
      { kind: "file", id: "b", description: "b", path: "/b", content: "", dependsOn: ["a"] },
      { kind: "file", id: "c", description: "c", path: "/c", content: "", dependsOn: ["b"] },
      { kind: "file", id: "free", description: "free", path: "/free", content: "" },
    );
    await expect(runSteps(plan, { host: new RealHost({ root }), mode: "apply" })).rejects.toThrow(
      "invalid step plan:\n  - dependency cycle: a → c → b → a (each step depends on the next)",
    );
    expect(await readdir(root)).toEqual([]); // not even the independent step ran
  });

  it("reports unknown dependencies and duplicate ids together", async () => {
    const plan = steps(
      { kind: "file", id: "a", description: "a", path: "/a", content: "", dependsOn: ["nope"] },
      { kind: "file", id: "a", description: "a again", path: "/a2", content: "" },
      { kind: "systemdUnit", id: "u", description: "u", name: "u.service", restartOnChangeOf: ["gone"] },
    );
    await expect(runSteps(plan, { host: new RealHost({ root }), mode: "apply" })).rejects.toThrow(
      'invalid step plan:\n  - step id "a" is used by more than one step\n' +
        '  - step "a" depends on "nope", which is not in the plan\n' +
        '  - step "u" restarts on change of "gone", which is not in the plan',
    );
  });
});

describe("runSteps: scheduling", () => {
  it("runs independent slow steps concurrently and dependants after both", async () => {
    const live = new RealHost();
    const slow = (name: string) => ({
      kind: "command" as const, id: name, description: name,
      argv: ["sh", "-c", `sleep 0.4 && touch "${join(root, name)}"`], creates: join(root, name),
    });
    const plan = steps(slow("a"), slow("b"), {
      kind: "command", id: "after", description: "after", argv: ["touch", join(root, "after")], creates: join(root, "after"), dependsOn: ["a", "b"],
    });
    const rec = recorder();
    const started = Date.now();
    const summary = await runSteps(plan, { host: live, mode: "apply", emit: rec.emit, journal: false });
    const elapsed = Date.now() - started;

    expect(summary.failed).toBe(0);
    expect(summary.changed).toBe(3);
    const [aStart, aEnd] = [rec.of("a", "step.started")[0]!.at, rec.of("a", "step.finished")[0]!.at];
    const [bStart, bEnd] = [rec.of("b", "step.started")[0]!.at, rec.of("b", "step.finished")[0]!.at];
    expect(aStart).toBeLessThan(bEnd); // the two intervals overlap
    expect(bStart).toBeLessThan(aEnd);
    expect(elapsed).toBeLessThan(780); // sequential would take at least 800 ms
    expect(rec.of("after", "step.started")[0]!.at).toBeGreaterThanOrEqual(Math.max(aEnd, bEnd));
  });

  it("respects the concurrency limit", async () => {
    const live = new RealHost();
    const plan = steps(
      ...["a", "b"].map((name) => ({
        kind: "command" as const, id: name, description: name,
        argv: ["sh", "-c", `sleep 0.2 && touch "${join(root, name)}"`], creates: join(root, name),
      })),
    );
    const rec = recorder();
    await runSteps(plan, { host: live, mode: "apply", emit: rec.emit, journal: false, concurrency: 1 });
    expect(rec.of("b", "step.started")[0]!.at).toBeGreaterThanOrEqual(rec.of("a", "step.finished")[0]!.at);
  });

  it("skips dependants of a failed step, naming it, while independent steps still run", async () => {
    const live = new RealHost();
    const plan = steps(
      { kind: "command", id: "broken", description: "broken", argv: ["sh", "-c", "echo disk on fire >&2; exit 3"], creates: join(root, "never") },
      { kind: "file", id: "child", description: "child", path: join(root, "child"), content: "", dependsOn: ["broken"] },
      { kind: "file", id: "grandchild", description: "grandchild", path: join(root, "grandchild"), content: "", dependsOn: ["child"] },
      { kind: "file", id: "independent", description: "independent", path: join(root, "independent"), content: "x" },
    );
    const rec = recorder();
    const summary = await runSteps(plan, { host: live, mode: "apply", emit: rec.emit, journal: false });

    expect(summary.outcomes.broken).toMatchObject({ outcome: "failed", error: expect.stringMatching(/exited with code 3: disk on fire/) });
    expect(summary.outcomes.child).toMatchObject({ outcome: "skipped", note: 'dependency "broken" failed' });
    expect(summary.outcomes.grandchild).toMatchObject({ outcome: "skipped", note: 'dependency "child" was skipped because "broken" failed' });
    expect(summary.outcomes.independent!.outcome).toBe("changed");
    expect(summary).toMatchObject({ failed: 1, skipped: 2, changed: 1 });
    expect(await readFile(join(root, "independent"), "utf8")).toBe("x");
    await expect(stat(join(root, "child"))).rejects.toThrow();
    const failed = rec.of("broken", "step.failed")[0];
    expect(failed).toMatchObject({ logTail: "disk on fire" });
    expect(rec.of("child", "step.finished")[0]).toMatchObject({ outcome: "skipped", durationMs: 0 });
  });
});

describe("runSteps: waiting, deadlines and abort", () => {
  it("retries TryAgainLater with backoff until the awaited file appears", async () => {
    const host = new RealHost({ root });
    const plan = steps(
      { kind: "waitFor", id: "wait", description: "wait for token", condition: { type: "file", path: "/run/token" } },
      { kind: "file", id: "after", description: "after", path: "/after", content: "", dependsOn: ["wait"] },
    );
    setTimeout(() => void mkdir(join(root, "run")).then(() => writeFile(join(root, "run/token"), "")), 300);
    const rec = recorder();
    const summary = await runSteps(plan, { host, mode: "apply", emit: rec.emit, backoff: fast, journal: false });

    expect(summary.outcomes.wait!.outcome).toBe("unchanged");
    expect(summary.outcomes.after!.outcome).toBe("changed");
    const waits = rec.of("wait", "step.waiting");
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[0]).toMatchObject({ waitingFor: "file /run/token to exist", attempt: 1 });
    expect(waits.map((w) => "attempt" in w && w.attempt)).toEqual(waits.map((_, i) => i + 1));
    expect(summary.outcomes.wait!.durationMs).toBeGreaterThanOrEqual(250);
  });

  it("fails a wait at its deadline with a clear message", async () => {
    const plan = steps({
      kind: "waitFor", id: "wait", description: "wait", deadlineSeconds: 0.3, condition: { type: "file", path: "/never" },
    });
    const started = Date.now();
    const summary = await runSteps(plan, { host: new RealHost({ root }), mode: "apply", backoff: fast, journal: false });
    // On a loaded machine the deadline can also fall while a check is still running.
    expect(summary.outcomes.wait).toMatchObject({ outcome: "failed", error: expect.stringMatching(/^timed out after 0\.3s( waiting for file \/never to exist|: the check did not finish)$/) });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("fails a check that hangs at the deadline", async () => {
    const plan = steps({
      kind: "waitFor", id: "hang", description: "hang", deadlineSeconds: 0.2, condition: { type: "barrier", name: "never-answers" },
    });
    const summary = await runSteps(plan, {
      host: new RealHost({ root }), mode: "apply", journal: false, barriers: () => new Promise<boolean>(() => {}),
    });
    expect(summary.outcomes.hang).toMatchObject({ outcome: "failed", error: "timed out after 0.2s: the check did not finish" });
  });

  it("answers barriers through the supplied callback", async () => {
    let asked = 0;
    const plan = steps({ kind: "waitFor", id: "b", description: "b", condition: { type: "barrier", name: "apiserver-ready" } });
    const summary = await runSteps(plan, {
      host: new RealHost({ root }), mode: "apply", journal: false, backoff: fast, barriers: async () => ++asked >= 3,
    });
    expect(summary.outcomes.b!.outcome).toBe("unchanged");
    expect(asked).toBe(3);
  });

  it("stops promptly on abort and rejects with the reason", async () => {
    const plan = steps(
      { kind: "waitFor", id: "wait", description: "wait", condition: { type: "file", path: "/never" } },
      { kind: "file", id: "after", description: "after", path: "/after", content: "", dependsOn: ["wait"] },
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("agent shutting down")), 150);
    const rec = recorder();
    const started = Date.now();
    await expect(
      runSteps(plan, { host: new RealHost({ root }), mode: "apply", signal: controller.signal, emit: rec.emit, backoff: { initialMs: 5000 } }),
    ).rejects.toThrow("agent shutting down");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(rec.of("wait", "step.failed")[0]).toMatchObject({ reason: "aborted: agent shutting down" });
    expect(await stat(join(root, "after")).catch(() => undefined)).toBeUndefined();
  });
});

describe("runSteps: idempotency, plan mode and the journal", () => {
  it("converges a rootfs, and a second run reports everything unchanged", async () => {
    const host = new RealHost({ root });
    const rec = recorder();
    const first = await runSteps(nodePlan(), { host, mode: "apply", emit: rec.emit, revision: 7 });
    expect(Object.values(first.outcomes).map((r) => r.outcome)).toEqual(Array(5).fill("changed"));
    expect(rec.events.at(-1)).toMatchObject({ type: "converged", revision: 7, changed: 5, failed: 0 });

    const second = await runSteps(nodePlan(), { host, mode: "apply" });
    expect(Object.values(second.outcomes).map((r) => r.outcome)).toEqual(Array(5).fill("unchanged"));
    expect(second.changed).toBe(0);
  });

  it("offline, a changed restartOnChangeOf trigger does not touch the unit", async () => {
    const host = new RealHost({ root });
    await runSteps(nodePlan(), { host, mode: "apply" });
    const plan = nodePlan().map((s) => (s.id === "kubelet/config" && s.kind === "file" ? { ...s, content: "kind: KubeletConfiguration\nx: 1\n" } : s));
    const summary = await runSteps(plan, { host, mode: "apply" });
    expect(summary.outcomes["kubelet/config"]!.outcome).toBe("changed");
    expect(summary.outcomes["kubelet/unit"]!.outcome).toBe("unchanged");
  });

  it("plan mode over a DryRunHost changes nothing and reports wouldChange with the changes", async () => {
    const dry = new DryRunHost(new RealHost({ root }));
    const plan = [
      ...nodePlan(),
      ...steps({ kind: "waitFor", id: "wait/api", description: "api", condition: { type: "barrier", name: "apiserver-ready" } }),
    ];
    const summary = await runSteps(plan, { host: dry, mode: "plan", barriers: async () => false });

    expect(await readdir(root)).toEqual([]); // no files, no journal
    expect(Object.values(summary.outcomes).map((r) => r.outcome)).toEqual(Array(6).fill("wouldChange"));
    expect(summary.outcomes["wait/api"]!.note).toBe('would wait for barrier "apiserver-ready" from the coordinator');
    expect(summary.plannedChanges).toBe(dry.changes);
    expect(dry.changes).toContainEqual({ action: "write", target: "/etc/kubernetes/kubelet.yaml", detail: "create, 27 bytes, mode 0644", stepId: "kubelet/config" });
    expect(dry.changes).toContainEqual({ action: "enable", target: "kubelet.service", stepId: "kubelet/unit" });
  });

  it("plan mode wraps a real host itself, so nothing runs or changes", async () => {
    const marker = join(root, "ran");
    const plan = steps({ kind: "command", id: "c", description: "c", argv: ["touch", marker], unless: ["test", "-e", marker] });
    const summary = await runSteps(plan, { host: new RealHost(), mode: "plan" });
    expect(summary.outcomes.c!.outcome).toBe("wouldChange");
    expect(summary.plannedChanges).toEqual([
      { action: "run", target: `test -e ${marker}`, stepId: "c" },
      { action: "run", target: `touch ${marker}`, stepId: "c" },
    ]);
    expect(await readdir(root)).toEqual([]);
  });

  it("writes the journal with mode 0600 and tolerates a corrupt one", async () => {
    const host = new RealHost({ root });
    const journalFile = join(root, JOURNAL_PATH);
    await mkdir(join(root, "var/lib/sprout"), { recursive: true });
    await writeFile(journalFile, "{ this is not json");

    const rec = recorder();
    const summary = await runSteps(nodePlan(), { host, mode: "apply", emit: rec.emit });
    expect(summary.failed).toBe(0);
    expect(rec.events.find((e) => e.type === "log")).toMatchObject({ level: "warn", message: expect.stringMatching(/is not valid JSON.*starting a new one/) });

    expect((await stat(journalFile)).mode & 0o7777).toBe(0o600);
    const journal = JSON.parse(await readFile(journalFile, "utf8"));
    expect(Object.keys(journal.steps).sort()).toEqual(["etc-k8s", "kubelet/config", "kubelet/unit", "mod/overlay", "sysctl/ip-forward"]);
    expect(journal.steps["kubelet/config"]).toMatchObject({ outcome: "changed", inputHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it("does not journal in plan mode or when disabled", async () => {
    const host = new RealHost({ root });
    await runSteps(nodePlan(), { host, mode: "plan" });
    await runSteps(nodePlan(), { host, mode: "apply", journal: false });
    expect(await host.stat(JOURNAL_PATH)).toBeUndefined();
  });
});
