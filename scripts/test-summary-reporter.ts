/**
 * A vitest reporter that counts the run the way scripts/test-summary.ts says, and writes the
 * counts to the file named by SPROUT_TEST_COUNTS for scripts/test to print its closing line.
 */
import { writeFileSync } from "node:fs";
import type { Reporter, TestModule, TestSuite, TestRunEndReason } from "vitest/node";
import { countRun, type TaskTree } from "./test-summary.js";

type SerializedError = { message?: string; name?: string };

const message = (e: SerializedError) => `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message ?? String(e)}`;

function tree(node: TestModule | TestSuite, name: string): TaskTree {
  return {
    name,
    errors: node.errors().map(message),
    tests: [...node.children.tests()].map((t) => ({ name: t.name, state: t.result().state, mode: t.options.mode })),
    suites: [...node.children.suites()].map((s) => tree(s, s.name)),
  };
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const file = process.env.SPROUT_TEST_COUNTS;
    if (!file) return;
    const counts = countRun(modules.map((m) => tree(m, m.relativeModuleId)), unhandledErrors.map(message), reason);
    writeFileSync(file, JSON.stringify(counts));
  }
}
