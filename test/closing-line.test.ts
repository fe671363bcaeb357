import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The closing line of scripts/test, through the real pipeline (scripts/run-tests: vitest, the
 * counting reporter, the closing line) on fixture suites in test/fixtures/closing-line/: a run
 * that fails in any way ends with "M failed", M ≥ 1, and a non-zero exit; a passing one with
 * "0 failed" and exit 0, its deliberate skips still skips.
 */
const REPO = resolve(import.meta.dirname, "..");
const FIXTURES = join(REPO, "test/fixtures/closing-line");

function runTests(...args: string[]): Promise<{ code: number; lines: string[] }> {
  // The outer vitest's variables would make the inner one think it runs inside a worker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "NODE_OPTIONS"));
  return new Promise((done, fail) => {
    const child = spawn(join(REPO, "scripts/run-tests"), args, { cwd: REPO, env: { ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", () => {});
    child.once("error", fail);
    child.once("close", (code) => done({ code: code ?? 1, lines: out.trimEnd().split("\n") }));
  });
}

describe("the test command's closing line", () => {
  it("counts a failed assertion, tests whose setup failed, a file that did not load, a failed teardown and an unhandled error", async () => {
    const { code, lines } = await runTests("--root", join(FIXTURES, "failing"));
    expect(code).not.toBe(0);
    // assertion 1, the file's beforeAll 3 (one in a group), the group's beforeAll 1, afterAll 1, import 1, unhandled 1.
    expect(lines.at(-1)).toBe("4 passed, 8 failed");
    expect(lines).toContain("failed: before-all.fixture.ts: 3 test(s) did not run: file setup broke");
    expect(lines).toContain("failed: suite-before-all.fixture.ts > a group whose setup fails: 1 test(s) did not run: group setup broke");
    expect(lines).toContain("failed: import.fixture.ts: the file failed to load");
    expect(lines).toContain("failed: after-all.fixture.ts: teardown broke");
    expect(lines).toContain("failed: unhandled error: rejected after the test");
    expect(lines.join("\n")).not.toMatch(/skipped on purpose/);
  });

  it("counts one failure when vitest reports nothing at all (the global setup failed)", async () => {
    const { code, lines } = await runTests("--root", join(FIXTURES, "failing"), "--config", join(FIXTURES, "failing/broken-global-setup.config.ts"));
    expect(code).not.toBe(0);
    expect(lines.at(-1)).toBe("0 passed, 1 failed");
    expect(lines.at(-2)).toMatch(/^failed: vitest exited [1-9]\d* (before reporting any result|with no failed test counted)/);
  });

  it("ends a passing run with 0 failed and exit 0, and keeps deliberate skips apart", async () => {
    const { code, lines } = await runTests("--root", join(FIXTURES, "passing"));
    expect(lines.at(-1)).toBe("2 passed, 0 failed");
    expect(lines.at(-2)).toBe("3 skipped on purpose (it.skip, it.todo, ctx.skip)");
    expect(code).toBe(0);
  });
});
