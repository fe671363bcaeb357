import { describe, expect, it } from "vitest";
import { closingLine, countRun, type TaskTree } from "./test-summary.js";

const file = (name: string, over: Partial<TaskTree> = {}): TaskTree => ({ name, errors: [], tests: [], suites: [], ...over });
const test = (state: "passed" | "failed" | "skipped" | "pending", mode: "run" | "skip" | "todo" = "run") => ({ name: `${state}-${mode}`, state, mode });

describe("countRun", () => {
  it("counts passed and failed tests, and deliberate skips as skips", () => {
    const c = countRun([file("a", { tests: [test("passed"), test("failed"), test("skipped", "skip"), test("skipped", "todo"), test("skipped")] })], [], "failed");
    expect(c).toMatchObject({ passed: 1, failed: 1, skipped: 3, notes: [] });
  });

  it("counts every test under a file or suite whose own setup failed as failed, nested ones too", () => {
    const c = countRun([file("a", { errors: ["boom\nstack"], tests: [test("skipped")], suites: [file("g", { tests: [test("skipped"), test("skipped", "skip")] })] })], [], "failed");
    expect(c).toMatchObject({ passed: 0, failed: 3, skipped: 0, notes: ["a: 3 test(s) did not run: boom"] });
  });

  it("names the nearest broken suite only", () => {
    const c = countRun([file("a", { tests: [test("passed")], suites: [file("g", { errors: ["hook"], tests: [test("skipped")] })] })], [], "failed");
    expect(c).toMatchObject({ passed: 1, failed: 1, notes: ["a > g: 1 test(s) did not run: hook"] });
  });

  it("counts a file with errors and no failed test (did not load, or a failed afterAll) once", () => {
    expect(countRun([file("a", { errors: ["cannot import"] })], [], "failed")).toMatchObject({ failed: 1, notes: ["a: cannot import"] });
    expect(countRun([file("b", { errors: ["teardown"], tests: [test("passed")] })], [], "failed")).toMatchObject({ passed: 1, failed: 1 });
    expect(countRun([file("c", { errors: ["teardown"], tests: [test("failed")] })], [], "failed")).toMatchObject({ failed: 1, notes: [] });
  });

  it("counts unhandled errors, tests left pending and an interrupted run", () => {
    expect(countRun([file("a", { tests: [test("passed")] })], ["late rejection"], "failed")).toMatchObject({ passed: 1, failed: 1, notes: ["unhandled error: late rejection"] });
    expect(countRun([file("a", { tests: [test("pending")] })], [], "interrupted")).toMatchObject({ failed: 1, notes: [] });
    expect(countRun([], [], "interrupted")).toMatchObject({ failed: 1, notes: ["the run was interrupted"] });
  });
});

describe("closingLine", () => {
  it("is N passed, M failed, and a failed exit is at least one failure", () => {
    expect(closingLine({ passed: 3, failed: 0 }, 0)).toBe("3 passed, 0 failed");
    expect(closingLine({ passed: 3, failed: 2 }, 1)).toBe("3 passed, 2 failed");
    expect(closingLine({ passed: 3, failed: 0 }, 1)).toBe("3 passed, 1 failed");
    expect(closingLine(undefined, 130)).toBe("0 passed, 1 failed");
  });
});
