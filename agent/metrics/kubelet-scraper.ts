import { request, type Agent } from "undici";
import { z } from "zod";
import { describeError } from "../../shared/errors.js";
import { parseJsonWith } from "../../shared/validate.js";
import { listOf, type KubeClient } from "../kube/kube-client.js";
import { KubeletSummary, SUMMARY_PATH } from "./kubelet-summary.js";
import type { MetricsStore } from "./metrics-store.js";

const Node = z.object({
  metadata: z.object({ name: z.string() }),
  status: z
    .object({
      addresses: z.array(z.object({ type: z.string(), address: z.string() })).default([]),
      daemonEndpoints: z.object({ kubeletEndpoint: z.object({ Port: z.number().int() }).optional() }).optional(),
    })
    .default({ addresses: [] }),
});

/** Kubelets asked at once: enough to finish a large cluster well inside one resolution. */
const CONCURRENCY = 32;

export interface ScrapeResult {
  nodes: number;
  scraped: number;
  /** Nodes whose kubelet did not answer, and why. */
  failed: { node: string; reason: string }[];
}

/**
 * One round: list the Nodes, ask every kubelet for its summary (at its InternalIP and kubelet
 * port, as the API server reaches it: `--kubelet-preferred-address-types=InternalIP`), and
 * record what answered. The kubelets' serving certificates are verified against the cluster CA
 * (`kubelets` carries it, and the metrics identity as client certificate). Nodes that are gone
 * from the API are forgotten at once.
 */
export async function scrapeKubelets(client: KubeClient, kubelets: Agent, store: MetricsStore, now: () => number, signal?: AbortSignal): Promise<ScrapeResult> {
  const nodes = await client.list("/api/v1/nodes", listOf(Node), signal);
  const result: ScrapeResult = { nodes: nodes.items.length, scraped: 0, failed: [] };
  const names = new Set(nodes.items.map((n) => n.metadata.name));
  const queue = [...nodes.items];
  const worker = async () => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      const name = n.metadata.name;
      const ip = n.status.addresses.find((a) => a.type === "InternalIP")?.address;
      if (!ip) {
        result.failed.push({ node: name, reason: "no InternalIP address" });
        continue;
      }
      try {
        store.record(name, await fetchSummary(kubelets, ip, n.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250, signal), now());
        result.scraped++;
      } catch (err) {
        result.failed.push({ node: name, reason: describeError(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  for (const name of store.nodeNames()) if (!names.has(name)) store.forget(name);
  return result;
}

async function fetchSummary(kubelets: Agent, ip: string, port: number, signal?: AbortSignal): Promise<KubeletSummary> {
  const url = `https://${ip}:${port}${SUMMARY_PATH}`;
  const res = await request(url, { dispatcher: kubelets, signal, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`kubelet ${ip}:${port}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return parseJsonWith(KubeletSummary, text, `kubelet summary from ${ip}:${port}`);
}
