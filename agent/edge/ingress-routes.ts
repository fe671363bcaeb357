import type { Ingress, Service } from "./kube-objects.js";

/** The ingress class this edge serves; Ingresses without a class are served too. */
export const INGRESS_CLASS = "sprout";

/** One routing rule: requests for `host` (or any host: `*`) whose path matches go to `upstream`. */
export interface Route {
  host: string;
  path: string;
  exact: boolean;
  /** `<clusterIP>:<port>`; undefined when the Service or its port does not exist (answered 503). */
  upstream?: string;
  /** `namespace/name` of the Ingress, for logs and config comments. */
  source: string;
}

/**
 * Ingresses → routes, resolving each backend Service's port to its ClusterIP (kube-proxy on the
 * edge node reaches the pods). A host without a dot is a short name under the base domain
 * (`demo` → `demo.<baseDomain>`), so users need not know the edge's address in advance.
 * Paths nginx could misread are skipped and reported.
 */
export function ingressRoutes(ingresses: Ingress[], services: Service[], baseDomain: string): { routes: Route[]; skipped: string[] } {
  const svc = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  const routes: Route[] = [];
  const skipped: string[] = [];
  for (const ing of [...ingresses].sort((a, b) => key(a).localeCompare(key(b)))) {
    if (!servedHere(ing)) continue;
    const source = key(ing);
    const upstream = (backend: Ingress["spec"]["defaultBackend"]) => resolve(svc, ing.metadata.namespace, backend);
    if (ing.spec.defaultBackend) routes.push({ host: "*", path: "/", exact: false, upstream: upstream(ing.spec.defaultBackend), source });
    for (const rule of ing.spec.rules) {
      const host = rule.host ? ingressHost(rule.host, baseDomain) : "*";
      for (const p of rule.http?.paths ?? []) {
        const path = p.path || "/";
        if (!/^\/[A-Za-z0-9._~!&*+,=:@%/-]*$/.test(path)) {
          skipped.push(`${source}: path ${JSON.stringify(path)} has characters the edge does not route`);
          continue;
        }
        routes.push({ host, path, exact: p.pathType === "Exact", upstream: upstream(p.backend), source });
      }
    }
  }
  return { routes, skipped };
}

function key(ing: Ingress): string {
  return `${ing.metadata.namespace}/${ing.metadata.name}`;
}

/**
 * Ingresses served here whose status does not list this edge's address yet, with the list to
 * publish: the current one plus this edge (other edges add themselves the same way).
 */
export function statusUpdates(ingresses: Ingress[], edgeAddress: string): { namespace: string; name: string; ingress: { ip?: string; hostname?: string }[] }[] {
  return ingresses
    .filter((ing) => servedHere(ing) && !ing.status.loadBalancer.ingress.some((e) => e.ip === edgeAddress))
    .map((ing) => ({ namespace: ing.metadata.namespace, name: ing.metadata.name, ingress: [...ing.status.loadBalancer.ingress, { ip: edgeAddress }] }));
}

/** An Ingress host as served: a name without a dot is a short name under the base domain. */
export function ingressHost(host: string, baseDomain: string): string {
  return host.includes(".") ? host : `${host}.${baseDomain}`;
}

export function servedHere(ing: Ingress): boolean {
  const cls = ing.spec.ingressClassName ?? ing.metadata.annotations?.["kubernetes.io/ingress.class"];
  return cls === undefined || cls === INGRESS_CLASS;
}

function resolve(services: Map<string, Service>, namespace: string, backend: Ingress["spec"]["defaultBackend"]): string | undefined {
  const ref = backend?.service;
  const s = ref && services.get(`${namespace}/${ref.name}`);
  if (!s || !s.spec.clusterIP || s.spec.clusterIP === "None") return undefined;
  const port = ref.port.number ?? s.spec.ports.find((p) => p.name === ref.port.name)?.port;
  return port === undefined ? undefined : `${s.spec.clusterIP}:${port}`;
}
