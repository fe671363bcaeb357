import type { ClusterStatus } from "../../shared/status.js";
import { formatMs, progress, type OutputFormat } from "../output.js";
import { totalMs } from "../status/render-status.js";

/** Prints each node's phase changes as they happen (no redrawing: works the same when piped). */
export async function followProgress(
  fetch: () => Promise<ClusterStatus>,
  ended: Promise<unknown>,
  format: OutputFormat,
): Promise<ClusterStatus> {
  const seen = new Map<string, string>();
  let finished = false;
  void ended.then(() => (finished = true));
  for (;;) {
    const status = await fetch();
    if (format !== "json") {
      for (const n of status.nodes) {
        const key = `${n.phase}:${n.appliedRevision ?? ""}`;
        if (seen.get(n.name) === key) continue;
        seen.set(n.name, key);
        const detail = n.phase === "converged" ? `revision ${n.appliedRevision} in ${formatMs(totalMs(n))}` : (n.error ?? "");
        progress(`  ${n.name.padEnd(16)} ${n.phase.padEnd(11)} ${detail}`);
      }
    }
    if (finished) return fetch();
    await new Promise((r) => setTimeout(r, 250));
  }
}
