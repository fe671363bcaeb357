import { z } from "zod";

/** The parts of a Service the edge's LoadBalancer controller reads (v1). */
export const LbService = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().default("default"), uid: z.string().default(""), creationTimestamp: z.string().default("") }),
  spec: z
    .object({
      type: z.string().default("ClusterIP"),
      loadBalancerClass: z.string().optional(),
      ports: z.array(z.object({ name: z.string().optional(), port: z.number().int(), protocol: z.string().default("TCP") })).default([]),
    })
    .default({ type: "ClusterIP", ports: [] }),
  status: z
    .object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() })).nullish() }).default({}) })
    .default({ loadBalancer: {} }),
});
export type LbService = z.infer<typeof LbService>;
