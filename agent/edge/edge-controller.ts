import type { Host } from "../host/host.js";
import type { Logger } from "../../shared/log.js";
import { abortReason, sleep } from "../../shared/backoff.js";
import { ingressRoutes, statusUpdates } from "./ingress-routes.js";
import { Ingress, Service } from "./kube-objects.js";
import { listOf, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
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
}

/**
 * The edge's Ingress controller: lists Ingresses and Services, renders nginx routes, and reloads
 * nginx when they changed — after `nginx -t` accepted them, restoring the previous routes if
 * not. Then it waits for the next change (a watch on either list) and does it again. Errors
 * (API server away, a failed reload) are retried with backoff; nginx keeps serving meanwhile.
 */
export async function runEdgeController(o: EdgeOptions): Promise<void> {
  const file = o.routesFile ?? EDGE_PATHS.routesFile;
  await reconcileLoop({ ...o, name: "edge controller" }, {
    reconcile: async (client) => {
      const [ingresses, services] = await Promise.all([client.list(INGRESSES, listOf(Ingress), o.signal), client.list(SERVICES, listOf(Service), o.signal)]);
      const { routes, skipped } = ingressRoutes(ingresses.items, services.items, o.baseDomain);
      for (const s of skipped) o.log.warn("ingress path skipped", { reason: s });
      if (await applyRoutes(o, file, renderNginxRoutes(routes))) o.log.info("edge routes reloaded", { routes: routes.length, ingresses: ingresses.items.length });
      // Published after the routes are live; the status change comes back as a watch event.
      for (const u of o.address ? statusUpdates(ingresses.items, o.address) : []) {
        await client.mergePatch(`/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(u.namespace)}/ingresses/${encodeURIComponent(u.name)}/status`, { status: { loadBalancer: { ingress: u.ingress } } }, o.signal);
      }
      return { ingresses: ingresses.metadata.resourceVersion, services: services.metadata.resourceVersion };
    },
    changed: async (client, seen) => {
      // Whichever list changes first; the other watch is cancelled.
      const stop = new AbortController();
      const onAbort = () => stop.abort(abortReason(o.signal));
      o.signal.addEventListener("abort", onAbort, { once: true });
      try {
        await Promise.race([client.changed(INGRESSES, seen.ingresses, stop.signal), client.changed(SERVICES, seen.services, stop.signal)]);
      } finally {
        stop.abort(new Error("next round"));
        o.signal.removeEventListener("abort", onAbort);
      }
      await sleep(200, o.signal).catch(() => undefined); // a burst of changes (apply -f of a list) costs one reload
    },
  });
}

/** Writes the routes and reloads nginx if they differ; returns whether it did. */
async function applyRoutes(o: EdgeOptions, file: string, text: string): Promise<boolean> {
  const previous = (await o.host.readFile(file))?.toString("utf8");
  if (previous === text) return false;
  await o.host.writeFile(file, text, 0o644);
  const test = await o.host.exec(["nginx", "-t", "-q"]);
  if (test.code !== 0) {
    if (previous === undefined) await o.host.remove(file);
    else await o.host.writeFile(file, previous, 0o644);
    throw new Error(`nginx refused the rendered routes (kept the previous ones): ${test.stderr.trim().slice(0, 500)}`);
  }
  const reload = await o.host.exec(["systemctl", "reload-or-restart", "nginx.service"]);
  if (reload.code !== 0) throw new Error(`reloading nginx failed: ${reload.stderr.trim().slice(0, 500)}`);
  return true;
}
