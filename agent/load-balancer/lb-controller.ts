import type { Host } from "../host/host.js";
import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import { listOf, type KubeCredentials } from "../kube/kube-client.js";
import { WarningEvents } from "../kube/events.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { LbService } from "./lb-objects.js";
import { planLoadBalancers, type LbPolicy } from "./lb-allocation.js";
import { renderLbChain } from "./lb-firewall.js";

const SERVICES = "/api/v1/services";

export interface LoadBalancerOptions extends KubeCredentials, LbPolicy {
  /** This node, named in the Events it writes. */
  nodeName: string;
  host: Host;
  log: Logger;
  signal: AbortSignal;
}

/**
 * The edge's LoadBalancer controller: lists Services, opens the ports of those it serves in the
 * edge firewall (one atomic iptables-restore of its chain), then publishes the edge addresses in
 * their status; Services it cannot serve stay Pending with a Warning Event naming the conflict.
 * Then it waits for the next change to Services. kube-proxy does the forwarding.
 */
export async function runLoadBalancerController(o: LoadBalancerOptions): Promise<void> {
  const events = new WarningEvents({ component: "sprout-edge", host: o.nodeName }, o.signal);
  let lastChain = "";
  await reconcileLoop({ ...o, name: "load balancer" }, {
    reconcile: async (client) => {
      const services = await client.list(SERVICES, listOf(LbService), o.signal);
      const plan = planLoadBalancers(services.items, o);
      // Ports open before the address is published, and closed before it is taken back.
      const chain = renderLbChain(plan.open);
      if (chain !== lastChain) {
        const r = await o.host.exec(["iptables-restore", "--noflush", "--wait"], { input: chain });
        if (r.code !== 0) throw new Error(`iptables-restore of the edge's LoadBalancer ports failed: ${r.stderr.trim().slice(0, 500)}`);
        lastChain = chain;
        o.log.info("edge load balancer ports", { open: plan.open.map((p) => `${p.port}/${p.protocol}`) });
      }
      for (const s of plan.status) {
        await client.mergePatch(`/api/v1/namespaces/${encodeURIComponent(s.namespace)}/services/${encodeURIComponent(s.name)}/status`, { status: { loadBalancer: { ingress: s.ingress.length > 0 ? s.ingress.map((ip) => ({ ip })) : null } } }, o.signal);
        o.log.info(s.ingress.length > 0 ? "load balancer address published" : "load balancer address withdrawn", { service: `${s.namespace}/${s.name}`, ingress: s.ingress });
      }
      for (const p of plan.pending) {
        const about = { apiVersion: "v1", kind: "Service", namespace: p.namespace, name: p.name, uid: p.uid };
        if (await events.warn(client, about, p.reason, `${p.message}; the Service stays Pending`)) o.log.warn("load balancer pending", { service: `${p.namespace}/${p.name}`, reason: p.reason, message: p.message });
      }
      return services.metadata.resourceVersion;
    },
    changed: async (client, resourceVersion) => {
      await client.changed(SERVICES, resourceVersion, o.signal);
      await sleep(100, o.signal).catch(() => undefined);
    },
  });
}
