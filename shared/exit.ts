/**
 * Exits once stdout and stderr have handed everything written so far to the OS. A plain
 * `process.exit` right after a large write to a pipe cuts it off (at 64 KiB here: `sprout
 * status -o json | jq` saw half a document); writes complete in order, so waiting for an empty
 * write on each stream waits for all before it.
 */
export function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
