/**
 * The suite's closing line, `N passed, M failed`, counted so that it cannot say "0 failed" about
 * a run that failed. vitest's own counts call a test "skipped" when a `beforeAll` failed and it
 * never ran, and count nothing for a file that failed to import, a failed `afterAll` or an
 * unhandled error; here each of those is a failure.
 *
 *   node --import tsx scripts/test-summary.ts closing-line COUNTS.json EXIT_CODE
 *
 * prints the closing line from the counts the reporter wrote (scripts/test-summary-reporter.ts)
 * and vitest's exit code: a non-zero exit is at least one failure, even with no counts at all.
 */
import { readFileSync } from "node:fs";

/** What the counting needs of a test, a suite or a file: plain data, so it is tested as data. */
export interface TaskTree {
  name: string;
  /** Errors of the file or suite itself: an import, a hook, a collection error. */
  errors: string[];
  tests: { name: string; state: "passed" | "failed" | "skipped" | "pending"; mode: "run" | "only" | "skip" | "todo" }[];
  suites: TaskTree[];
}

export interface RunCounts {
  passed: number;
  failed: number;
  /** Skipped on purpose (`it.skip`, `it.todo`, `ctx.skip()` with nothing broken around it). */
  skipped: number;
  /** One line per failure that is not a failed test's own assertion, for the summary. */
  notes: string[];
}

export function countRun(files: TaskTree[], unhandledErrors: string[], reason: "passed" | "interrupted" | "failed"): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, skipped: 0, notes: [] };
  for (const file of files) countTree(file, file.name, false, counts);
  for (const e of unhandledErrors) {
    counts.failed++;
    counts.notes.push(`unhandled error: ${firstLine(e)}`);
  }
  if (reason === "interrupted" && counts.failed === 0) {
    counts.failed++;
    counts.notes.push("the run was interrupted");
  }
  return counts;
}

/**
 * Counts one file or suite into `counts`. `broken`: an enclosing file or suite has errors of its
 * own, so its tests could not run. Returns how many tests failed under it, and how many of those
 * did not run without a nearer broken suite saying so already.
 */
function countTree(tree: TaskTree, where: string, broken: boolean, counts: RunCounts): { failed: number; notRun: number } {
  const own = tree.errors.length > 0;
  const notRunHere = broken || own;
  let failed = 0;
  let notRun = 0;
  for (const t of tree.tests) {
    if (t.state === "passed") counts.passed++;
    else if (t.state === "failed") failed++;
    else if (t.state === "pending" || notRunHere) {
      // It should have run and did not: its file's or suite's setup failed, or the run stopped.
      failed++;
      notRun++;
    } else counts.skipped++; // it.skip, it.todo, or ctx.skip() with nothing broken around it
  }
  counts.failed += failed;
  for (const s of tree.suites) {
    const below = countTree(s, `${where} > ${s.name}`, notRunHere, counts);
    failed += below.failed;
    notRun += below.notRun;
  }
  if (!own) return { failed, notRun };
  const reason = firstLine(tree.errors[0]!);
  if (notRun > 0) counts.notes.push(`${where}: ${notRun} test(s) did not run: ${reason}`);
  else if (failed === 0) {
    // A file that failed to load, or an afterAll that failed after every test passed.
    counts.failed++;
    counts.notes.push(`${where}: ${reason}`);
  }
  return { failed, notRun: 0 };
}

const firstLine = (text: string) => text.split("\n")[0]!.slice(0, 300);

/** The last line of the run. A failed exit with nothing counted still counts one failure. */
export function closingLine(counts: Pick<RunCounts, "passed" | "failed"> | undefined, exitCode: number): string {
  const passed = counts?.passed ?? 0;
  const failed = Math.max(counts?.failed ?? 0, exitCode === 0 ? 0 : 1);
  return `${passed} passed, ${failed} failed`;
}

if (process.argv[2] === "closing-line") {
  const [file, code] = process.argv.slice(3);
  let counts: RunCounts | undefined;
  try {
    counts = JSON.parse(readFileSync(file!, "utf8")) as RunCounts;
  } catch {
    counts = undefined; // vitest ended before its reporters did (it crashed, or was killed)
  }
  if (counts && counts.skipped > 0) console.log(`${counts.skipped} skipped on purpose (it.skip, it.todo, ctx.skip)`);
  for (const note of counts?.notes ?? []) console.log(`failed: ${note}`);
  if (Number(code) !== 0 && !counts) console.log(`failed: vitest exited ${code} before reporting any result`);
  else if (Number(code) !== 0 && counts!.failed === 0) console.log(`failed: vitest exited ${code} with no failed test counted (a global setup or the runner itself; see above)`);
  console.log(closingLine(counts, Number(code)));
}
