import { z } from "zod";

/**
 * What the metrics server reads of a kubelet's Summary API (`/stats/summary`, `stats/v1alpha1`):
 * cumulative CPU time and the working set, for the node and for every container. Everything is
 * optional because a kubelet leaves out what it has not measured yet (a container that just
 * started, a runtime that has no stats for it).
 */
const Cpu = z.object({ time: z.string(), usageCoreNanoSeconds: z.number().nonnegative().optional() }).optional();
const Memory = z.object({ time: z.string(), workingSetBytes: z.number().nonnegative().optional() }).optional();

export const KubeletSummary = z.object({
  node: z.object({ nodeName: z.string(), cpu: Cpu, memory: Memory }),
  pods: z
    .array(
      z.object({
        podRef: z.object({ name: z.string(), namespace: z.string(), uid: z.string() }),
        containers: z.array(z.object({ name: z.string(), startTime: z.string().optional(), cpu: Cpu, memory: Memory })).default([]),
      }),
    )
    .default([]),
});
export type KubeletSummary = z.infer<typeof KubeletSummary>;

/** The Summary API path; the kubelet then skips network and filesystem stats (metrics-server asks the same). */
export const SUMMARY_PATH = "/stats/summary?only_cpu_and_memory=true";
