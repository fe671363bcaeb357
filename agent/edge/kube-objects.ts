import { z } from "zod";

/**
 * The parts of Kubernetes objects the edge reads, validated as they arrive from the API server
 * (networking.k8s.io/v1 Ingress, GA since 1.19; v1 Service). Unknown fields are ignored.
 */
const Meta = z.object({ name: z.string(), namespace: z.string().default("default"), uid: z.string().optional(), annotations: z.record(z.string(), z.string()).optional() });

export const IngressBackend = z.object({
  service: z.object({ name: z.string(), port: z.object({ number: z.number().int().optional(), name: z.string().optional() }) }).optional(),
});

export const Ingress = z.object({
  metadata: Meta,
  status: z.object({ loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() })).default([]) }).default({ ingress: [] }) }).default({ loadBalancer: { ingress: [] } }),
  spec: z
    .object({
      ingressClassName: z.string().optional(),
      tls: z.array(z.object({ hosts: z.array(z.string()).default([]), secretName: z.string().optional() })).default([]),
      defaultBackend: IngressBackend.optional(),
      rules: z
        .array(
          z.object({
            host: z.string().optional(),
            http: z.object({ paths: z.array(z.object({ path: z.string().optional(), pathType: z.string().default("Prefix"), backend: IngressBackend })) }).optional(),
          }),
        )
        .default([]),
    })
    .default({ rules: [], tls: [] }),
});
export type Ingress = z.infer<typeof Ingress>;

export const Service = z.object({
  metadata: Meta,
  spec: z.object({ clusterIP: z.string().optional(), ports: z.array(z.object({ name: z.string().optional(), port: z.number().int() })).default([]) }).default({ ports: [] }),
});
export type Service = z.infer<typeof Service>;
