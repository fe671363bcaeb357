import type { Host } from "../host/host.js";
import type { Logger } from "../../shared/log.js";
import { sleep } from "../../shared/backoff.js";
import { listOf, type KubeCredentials } from "../kube/kube-client.js";
import { reconcileLoop } from "../kube/reconcile-loop.js";
import { firstChange } from "../kube/first-change.js";
import { DnsEndpointSlice, DnsService, endpointSlicesPath } from "./dns-objects.js";
import { clusterRecords } from "./dns-records.js";
import { RECORD_TTL, renderForwarders, renderRecords, UNBOUND_PATHS, UNBOUND_PYTHONPATH } from "./unbound-config.js";
import { RESOLV_CONF_FILES, upstreamsFromResolvConf } from "./upstreams.js";
import { unboundControl } from "./unbound-control.js";
import { writeCheckedFile } from "../host/checked-file.js";

const SERVICES = "/api/v1/services";

export interface ClusterDnsOptions extends KubeCredentials {
  domain: string;
  kubernetesVersion: string;
  /** Upstreams from cluster.yaml (`dns.upstreams`); empty: the node's own resolvers. */
  upstreams: string[];
  /** The cluster DNS address, never an upstream of itself. */
  dnsIp: string;
  host: Host;
  log: Logger;
  signal: AbortSignal;
}

/**
 * Every node's cluster DNS feeder: lists Services and EndpointSlices, renders their records
 * into unbound's include, and has unbound reload it keeping its cache — after
 * `unbound-checkconf` accepted it, restoring the previous records if not. Then it waits for the
 * next change to either list (a watch) and does it again.
 *
 * While the API server is away nothing is touched: unbound keeps answering from the last
 * records, which are on disk, so after a reboot it answers before the API server (or this
 * controller, or any pod) is back.
 */
export async function runClusterDnsController(o: ClusterDnsOptions): Promise<void> {
  const slicesPath = endpointSlicesPath(o.kubernetesVersion);
  let lastSkipped = "";
  await reconcileLoop({ ...o, name: "cluster dns" }, {
    reconcile: async (client) => {
      const [services, slices] = await Promise.all([client.list(SERVICES, listOf(DnsService), o.signal), client.list(slicesPath, listOf(DnsEndpointSlice), o.signal)]);
      const records = clusterRecords(services.items, slices.items, { domain: o.domain, ttl: RECORD_TTL });
      const skipped = records.skipped.join("\n");
      if (skipped !== lastSkipped) for (const s of records.skipped) o.log.warn("dns record skipped", { reason: s });
      lastSkipped = skipped;
      const forwarders = await writeForwarders(o.host, o.upstreams, o.dnsIp);
      const changed = await writeCheckedFile(o.host, { path: UNBOUND_PATHS.records, text: renderRecords(records), mode: 0o644, check: ["unbound-checkconf", UNBOUND_PATHS.config], env: { PYTHONPATH: UNBOUND_PYTHONPATH }, what: "the cluster records" });
      if (changed || forwarders) {
        await unboundControl(UNBOUND_PATHS.control, "reload_keep_cache");
        o.log.info("cluster dns records reloaded", { records: records.records.length, externalNames: records.redirects.length, services: services.items.length });
      }
      return { services: services.metadata.resourceVersion, slices: slices.metadata.resourceVersion };
    },
    changed: async (client, seen) => {
      await firstChange(client, [[SERVICES, seen.services], [slicesPath, seen.slices]], o.signal);
      // A burst of changes (a Deployment rolling, apply -f of a list) costs one reload.
      await sleep(200, o.signal).catch(() => undefined);
    },
  });
}

/**
 * The forwarders unbound uses for names outside the cluster: `dns.upstreams` when given, else
 * the node's resolvers as they are now. Returns whether the file changed.
 */
export async function writeForwarders(host: Host, configured: string[], dnsIp: string): Promise<boolean> {
  let upstreams = configured;
  if (upstreams.length === 0) {
    for (const file of RESOLV_CONF_FILES) {
      const text = (await host.readFile(file))?.toString("utf8");
      if (text === undefined) continue;
      upstreams = upstreamsFromResolvConf(text, [dnsIp]);
      break;
    }
  }
  const text = renderForwarders(upstreams);
  if ((await host.readFile(UNBOUND_PATHS.forwarders))?.toString("utf8") === text) return false;
  await host.writeFile(UNBOUND_PATHS.forwarders, text, 0o644);
  return true;
}
