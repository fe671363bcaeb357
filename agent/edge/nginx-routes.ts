import type { Route } from "./ingress-routes.js";

/** Where the agent's nginx.conf includes the routes from, and the TLS files it serves. */
export const EDGE_PATHS = {
  routesDir: "/etc/sprout/edge/routes",
  routesFile: "/etc/sprout/edge/routes/ingress.conf",
  /** Ingresses' own certificates (spec.tls Secrets), one PEM per Secret, mode 0600. */
  tlsDir: "/etc/sprout/edge/tls",
} as const;

/**
 * The routes as nginx `server` blocks: one per host on ports 80 and 443, longest paths first as
 * Ingress asks; a route whose backend is missing answers 503. A host whose Ingress names a TLS
 * Secret serves that certificate (`certs`: host → PEM file); every other host the edge
 * certificate of the main config. Requests for unknown hosts reach the default server and get 404.
 */
export function renderNginxRoutes(routes: Route[], certs: ReadonlyMap<string, { path: string; digest: string }> = new Map()): string {
  const byHost = new Map<string, Route[]>([["*", []]]);
  for (const r of routes) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  const out = ["# Written by sprout-agent edge from the cluster's Ingress objects; replaced on every change."];
  for (const [host, list] of [...byHost].sort(([a], [b]) => a.localeCompare(b))) {
    // Rules without a host, and requests for hosts no rule names, land in the default server.
    const listen = host === "*" ? ["  listen 80 default_server;", "  listen 443 ssl default_server;", "  server_name _;"] : ["  listen 80;", "  listen 443 ssl;", `  server_name ${host};`];
    out.push("server {", ...listen);
    // The digest makes a renewed certificate (same file, new content) a change, so nginx reloads.
    const cert = certs.get(host);
    if (cert) out.push(`  # certificate ${cert.digest}`, `  ssl_certificate ${cert.path};`, `  ssl_certificate_key ${cert.path};`);
    const seen = new Set<string>();
    for (const r of [...list].sort((a, b) => b.path.length - a.path.length || Number(b.exact) - Number(a.exact))) {
      const location = r.exact ? `= ${r.path}` : r.path;
      if (seen.has(location)) continue; // the first Ingress (by namespace/name) wins a clash
      seen.add(location);
      out.push(`  # ${r.source}`, `  location ${location} {`, r.upstream ? `    proxy_pass http://${r.upstream};` : "    return 503;", "  }");
    }
    if (!seen.has("/")) out.push("  location / {", "    return 404;", "  }");
    out.push("}");
  }
  return `${out.join("\n")}\n`;
}
