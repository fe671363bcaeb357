import { createHash } from "node:crypto";
import type { Host } from "../host/host.js";
import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import { firstChange } from "../kube/first-change.js";
import { ingressRoutes, statusUpdates } from "./ingress-routes.js";
import { tlsFileName, tlsPem, tlsRefs, TlsSecret, type TlsRef } from "./ingress-tls.js";
import { WarningEvents } from "../kube/events.js";
import { describeError } from "../../shared/errors.js";
import { Ingress, Service } from "./kube-objects.js";
import { listOf, type KubeClient, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { writeCheckedFile } from "../host/checked-file.js";
import { EDGE_PATHS, renderNginxRoutes } from "./nginx-routes.js";

const INGRESSES = "/apis/networking.k8s.io/v1/ingresses";
const SERVICES = "/api/v1/services";

export interface EdgeOptions extends KubeCredentials {
  baseDomain: string;
  /** This edge's address, published in the status of the Ingresses it serves (`kubectl get ingress` ADDRESS). */
  address?: string;
  host: Host;
  log: Logger;
  signal: AbortSignal;
  routesFile?: string;
  /** This node, named in the Events it writes. */
  nodeName?: string;
}

/**
 * The edge's Ingress controller: lists Ingresses and Services, renders nginx routes, and reloads
 * nginx when they changed — after `nginx -t` accepted them, restoring the previous routes if
 * not. Then it waits for the next change (a watch on either list) and does it again. Errors
 * (API server away, a failed reload) are retried with backoff; nginx keeps serving meanwhile.
 */
export async function runEdgeController(o: EdgeOptions): Promise<void> {
  const file = o.routesFile ?? EDGE_PATHS.routesFile;
  const events = new WarningEvents({ component: "sprout-edge", host: o.nodeName ?? o.address ?? "edge" }, o.signal);
  await reconcileLoop({ ...o, name: "edge controller" }, {
    reconcile: async (client) => {
      const [ingresses, services] = await Promise.all([client.list(INGRESSES, listOf(Ingress), o.signal), client.list(SERVICES, listOf(Service), o.signal)]);
      const { routes, skipped } = ingressRoutes(ingresses.items, services.items, o.baseDomain);
      for (const s of skipped) o.log.warn("ingress path skipped", { reason: s });
      const certs = await ingressCertificates(client, o, tlsRefs(ingresses.items, o.baseDomain), events);
      if (await applyRoutes(o, file, renderNginxRoutes(routes, certs))) o.log.info("edge routes reloaded", { routes: routes.length, ingresses: ingresses.items.length, certificates: certs.size });
      // Published after the routes are live; the status change comes back as a watch event.
      for (const u of o.address ? statusUpdates(ingresses.items, o.address) : []) {
        await client.mergePatch(`/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(u.namespace)}/ingresses/${encodeURIComponent(u.name)}/status`, { status: { loadBalancer: { ingress: u.ingress } } }, o.signal);
      }
      return { ingresses: ingresses.metadata.resourceVersion, services: services.metadata.resourceVersion };
    },
    changed: async (client, seen) => {
      await firstChange(client, [[INGRESSES, seen.ingresses], [SERVICES, seen.services]], o.signal);
      await sleep(200, o.signal).catch(() => undefined); // a burst of changes (apply -f of a list) costs one reload
    },
  });
}

/**
 * The Ingresses' own certificates: each `spec.tls` Secret fetched (by name: the edge may get
 * Secrets, not list them), checked, and written as one PEM (0600) for nginx. A Secret that is
 * missing or does not parse leaves its hosts on the edge certificate, with a Warning Event on
 * the Ingress. Files no Ingress names any more are removed. Returns host → PEM file.
 */
async function ingressCertificates(client: KubeClient, o: EdgeOptions, refs: TlsRef[], events: WarningEvents): Promise<Map<string, { path: string; digest: string }>> {
  const certs = new Map<string, { path: string; digest: string }>();
  const files = new Map<string, { pem: string } | { error: string }>();
  for (const ref of refs) {
    const path = `${EDGE_PATHS.tlsDir}/${tlsFileName(ref.namespace, ref.secretName)}`;
    let result = files.get(path);
    if (!result) {
      try {
        result = tlsPem(await client.list(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets/${encodeURIComponent(ref.secretName)}`, TlsSecret, o.signal));
      } catch (err) {
        result = { error: /HTTP 404/.test(String(err)) ? "not found" : describeError(err) };
      }
      files.set(path, result);
    }
    if ("pem" in result) {
      certs.set(ref.host, { path, digest: `sha256:${createHash("sha256").update(result.pem).digest("hex").slice(0, 16)}` });
      continue;
    }
    const message = `TLS Secret ${ref.namespace}/${ref.secretName} for ${ref.host}: ${result.error}; serving the edge certificate instead`;
    if (await events.warn(client, { apiVersion: "networking.k8s.io/v1", kind: "Ingress", ...ref.ingress }, "InvalidTLSSecret", message)) o.log.warn("ingress certificate skipped", { ingress: `${ref.ingress.namespace}/${ref.ingress.name}`, reason: message });
  }
  const wanted = [...files].filter(([, r]) => "pem" in r) as [string, { pem: string }][];
  for (const [path, r] of wanted) if ((await o.host.readFile(path))?.toString("utf8") !== r.pem) await o.host.writeFile(path, r.pem, 0o600);
  // What the previous round wrote and no Ingress names now.
  const index = `${EDGE_PATHS.tlsDir}/index`;
  const before = ((await o.host.readFile(index))?.toString("utf8") ?? "").split("\n").filter(Boolean);
  const now = wanted.map(([p]) => p).sort();
  if (before.join() !== now.join()) {
    await o.host.writeFile(index, `${now.join("\n")}\n`, 0o600);
    for (const p of before) if (!now.includes(p) && p.startsWith(`${EDGE_PATHS.tlsDir}/`)) await o.host.remove(p);
  }
  return certs;
}

/** Writes the routes and reloads nginx if they differ; returns whether it did. */
async function applyRoutes(o: EdgeOptions, file: string, text: string): Promise<boolean> {
  if (!(await writeCheckedFile(o.host, { path: file, text, mode: 0o644, check: ["nginx", "-t", "-q"], what: "the rendered routes" }))) return false;
  const reload = await o.host.exec(["systemctl", "reload-or-restart", "nginx.service"]);
  if (reload.code !== 0) throw new Error(`reloading nginx failed: ${reload.stderr.trim().slice(0, 500)}`);
  return true;
}
