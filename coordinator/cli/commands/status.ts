import { timelinesToCsv } from "../../status/timeline.js";
import { openClusterApi } from "../../access/cluster-api.js";
import { printJson, type OutputFormat } from "../../output.js";
import { renderStatus } from "../../status/render-status.js";

/** `sprout status [--watch] [-o json|csv]`: one row per node, or the full timelines as JSON/CSV. */
export async function statusCommand(dir: string, watch: boolean, format: OutputFormat): Promise<number> {
  const api = await openClusterApi(dir);
  try {
    for (;;) {
      const status = await api.status();
      if (format === "json") printJson(status);
      else if (format === "csv") process.stdout.write(timelinesToCsv(status.nodes));
      else process.stdout.write((watch && process.stdout.isTTY ? "\x1b[2J\x1b[H" : "") + renderStatus(status));
      if (!watch) return status.nodes.some((n) => n.phase === "failed") ? 1 : 0;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await api.close();
  }
}
