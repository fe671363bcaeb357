import { z } from "zod";
import { METRICS_SERVICE } from "../../shared/cert-profiles.js";
import type { KubeClient } from "../kube/kube-client.js";
import { MANAGED_BY_SPROUT } from "../kube/labels.js";

const COLLECTION = `/api/v1/namespaces/${METRICS_SERVICE.namespace}/endpoints`;
const PATH = `${COLLECTION}/${METRICS_SERVICE.name}`;
const PORT = { name: "https", port: METRICS_SERVICE.targetPort, protocol: "TCP" };

const Endpoints = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }),
  subsets: z.array(z.object({ addresses: z.array(z.object({ ip: z.string() })).default([]) })).default([]),
});

/** The addresses the Endpoints should hold once `ip` is in (or out). Sorted, so equal sets compare equal. */
export function nextAddresses(current: string[], ip: string, present: boolean): string[] {
  const set = new Set(current);
  if (present) set.add(ip);
  else set.delete(ip);
  return [...set].sort();
}

/**
 * Each master's metrics server puts its own address into the Endpoints of the selector-less
 * `sprout-metrics` Service (the aggregator routes to them, `--enable-aggregator-routing`) once
 * it has usage to serve, and takes it out when it stops. Read-modify-write on resourceVersion,
 * so masters starting together never drop each other. Returns whether anything changed.
 */
export async function setMetricsEndpoint(client: KubeClient, ip: string, present: boolean, signal?: AbortSignal): Promise<boolean> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const current = await client.getIfExists(PATH, Endpoints, signal);
    const have = current ? current.subsets.flatMap((s) => s.addresses.map((a) => a.ip)).sort() : [];
    const want = nextAddresses(have, ip, present);
    if (current && want.join() === have.join()) return false;
    if (!current && !present) return false;
    const body = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: METRICS_SERVICE.name, namespace: METRICS_SERVICE.namespace, labels: MANAGED_BY_SPROUT, ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
      subsets: want.length > 0 ? [{ addresses: want.map((a) => ({ ip: a })), ports: [PORT] }] : [],
    };
    if (!current) await client.create(COLLECTION, body, signal);
    else if (await client.replace(PATH, body, signal)) return true;
  }
  throw new Error(`Endpoints ${METRICS_SERVICE.namespace}/${METRICS_SERVICE.name}: kept changing under us; retrying later`);
}
