import { describe, expect, it } from "vitest";
import { ingressRoutes, statusUpdates } from "./ingress-routes.js";
import { Ingress, Service } from "./kube-objects.js";
import { renderNginxRoutes } from "./nginx-routes.js";

const service = (name: string, clusterIP: string, ports: { name?: string; port: number }[], namespace = "default") => Service.parse({ metadata: { name, namespace }, spec: { clusterIP, ports } });
const ingress = (name: string, spec: object, extra: object = {}) => Ingress.parse({ metadata: { name, namespace: "default", ...extra }, spec });
const backend = (name: string, port: object) => ({ service: { name, port } });

describe("edge: Ingress objects to nginx routes", () => {
  const services = [service("web", "10.96.0.20", [{ name: "http", port: 8080 }]), service("api", "10.96.0.21", [{ port: 9000 }])];

  it("expands short host names under the base domain, keeps full ones, resolves ports by name or number", () => {
    const { routes } = ingressRoutes(
      [
        ingress("a", { rules: [{ host: "demo", http: { paths: [{ path: "/", pathType: "Prefix", backend: backend("web", { name: "http" }) }] } }] }),
        ingress("b", { rules: [{ host: "api.example.org", http: { paths: [{ path: "/v1", pathType: "Exact", backend: backend("api", { number: 9000 }) }] } }] }),
      ],
      services,
      "10.0.0.10.nip.io",
    );
    expect(routes).toEqual([
      { host: "demo.10.0.0.10.nip.io", path: "/", exact: false, upstream: "10.96.0.20:8080", source: "default/a" },
      { host: "api.example.org", path: "/v1", exact: true, upstream: "10.96.0.21:9000", source: "default/b" },
    ]);
  });

  it("serves Ingresses of class sprout or without a class, and skips other classes and unsafe paths", () => {
    const { routes, skipped } = ingressRoutes(
      [
        ingress("mine", { ingressClassName: "sprout", rules: [{ host: "x", http: { paths: [{ path: "/ok", backend: backend("web", { number: 8080 }) }] } }] }),
        ingress("theirs", { ingressClassName: "nginx", rules: [{ host: "y", http: { paths: [{ path: "/", backend: backend("web", { number: 8080 }) }] } }] }),
        ingress("bad", { rules: [{ host: "z", http: { paths: [{ path: "/a;b{", backend: backend("web", { number: 8080 }) }] } }] }),
      ],
      services,
      "base",
    );
    expect(routes.map((r) => r.host)).toEqual(["x.base"]);
    expect(skipped).toEqual(['default/bad: path "/a;b{" has characters the edge does not route']);
  });

  it("a missing Service or port answers 503; a default backend catches every host", () => {
    const { routes } = ingressRoutes([ingress("d", { defaultBackend: backend("gone", { number: 80 }), rules: [{ host: "q", http: { paths: [{ path: "/", backend: backend("web", { name: "nope" }) }] } }] })], services, "base");
    expect(routes).toEqual([
      { host: "*", path: "/", exact: false, upstream: undefined, source: "default/d" },
      { host: "q.base", path: "/", exact: false, upstream: undefined, source: "default/d" },
    ]);
    const conf = renderNginxRoutes(routes);
    expect(conf).toContain("server_name _;\n  # default/d\n  location / {\n    return 503;\n  }");
  });

  it("renders one server per host on 80 and 443, longest paths first, and a default server answering 404", () => {
    const conf = renderNginxRoutes([
      { host: "a.base", path: "/", exact: false, upstream: "10.96.0.20:8080", source: "default/a" },
      { host: "a.base", path: "/api", exact: false, upstream: "10.96.0.21:9000", source: "default/a" },
      { host: "a.base", path: "/api", exact: false, upstream: "10.96.0.22:9000", source: "default/z" },
    ]);
    expect(conf).toContain("server {\n  listen 80 default_server;\n  listen 443 ssl default_server;\n  server_name _;\n  location / {\n    return 404;\n  }\n}");
    const a = conf.slice(conf.indexOf("server_name a.base;"));
    expect(a.indexOf("location /api {")).toBeLessThan(a.indexOf("location / {"));
    // A clash on the same path: the first Ingress by namespace/name keeps it.
    expect(a).toContain("proxy_pass http://10.96.0.21:9000;");
    expect(a).not.toContain("10.96.0.22");
  });

  it("publishes this edge's address in the status of the Ingresses it serves, keeping other edges'", () => {
    const list = [
      ingress("new", { rules: [] }),
      Ingress.parse({ metadata: { name: "other-edge", namespace: "lab" }, spec: {}, status: { loadBalancer: { ingress: [{ ip: "10.0.0.20" }] } } }),
      Ingress.parse({ metadata: { name: "done", namespace: "default" }, spec: {}, status: { loadBalancer: { ingress: [{ ip: "10.0.0.10" }] } } }),
      ingress("theirs", { ingressClassName: "nginx" }),
    ];
    expect(statusUpdates(list, "10.0.0.10")).toEqual([
      { namespace: "default", name: "new", ingress: [{ ip: "10.0.0.10" }] },
      { namespace: "lab", name: "other-edge", ingress: [{ ip: "10.0.0.20" }, { ip: "10.0.0.10" }] },
    ]);
  });
});
