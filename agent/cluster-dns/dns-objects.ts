import { z } from "zod";

/**
 * The parts of Services and EndpointSlices cluster DNS reads, validated as they arrive from the
 * API server. Lenient on purpose: one odd object must not fail the whole list, so fields the
 * records do not need are ignored and the rest default.
 */
const Meta = z.object({ name: z.string(), namespace: z.string().default("default"), labels: z.record(z.string(), z.string()).default({}) });

export const DnsService = z.object({
  metadata: Meta,
  spec: z
    .object({
      type: z.string().default("ClusterIP"),
      clusterIP: z.string().optional(),
      externalName: z.string().optional(),
      publishNotReadyAddresses: z.boolean().default(false),
      ports: z.array(z.object({ name: z.string().optional(), port: z.number().int(), protocol: z.string().default("TCP") })).default([]),
    })
    .default({ type: "ClusterIP", publishNotReadyAddresses: false, ports: [] }),
});
export type DnsService = z.infer<typeof DnsService>;

/** discovery.k8s.io EndpointSlice, v1 (1.21+) and v1beta1 (1.20) alike in what is read here. */
export const DnsEndpointSlice = z.object({
  metadata: Meta,
  addressType: z.string().default("IPv4"),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()).default([]),
        hostname: z.string().optional(),
        conditions: z.object({ ready: z.boolean().nullish() }).default({}),
      }),
    )
    .nullish()
    .transform((e) => e ?? []),
  ports: z
    .array(z.object({ name: z.string().nullish(), port: z.number().int().nullish(), protocol: z.string().nullish() }))
    .nullish()
    .transform((p) => p ?? []),
});
export type DnsEndpointSlice = z.infer<typeof DnsEndpointSlice>;

/** The EndpointSlice API for a Kubernetes minor: v1 is GA from 1.21, 1.20 serves only v1beta1. */
export function endpointSlicesPath(kubernetesVersion: string): string {
  const [major, minor] = kubernetesVersion.replace(/^v/, "").split(".").map(Number) as [number, number];
  return major === 1 && minor < 21 ? "/apis/discovery.k8s.io/v1beta1/endpointslices" : "/apis/discovery.k8s.io/v1/endpointslices";
}

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
