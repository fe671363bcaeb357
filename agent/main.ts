import { readFile } from "node:fs/promises";
import { exitAfterFlush } from "../shared/exit.js";
import { parseArgs } from "node:util";
import { NodeManifest, NODE_PATHS } from "../shared/node-manifest.js";
import { ApiError, UserError, ValidationError, describeError } from "../shared/errors.js";
import { createLogger } from "../shared/log.js";
import { parseJsonWith } from "../shared/validate.js";
import { SPROUT_VERSION } from "../shared/versions.js";
import { RealHost } from "./host/real-host.js";
import type { Host } from "./host/host.js";
import { readBootstrap } from "./bootstrap-file.js";
import { loadNodeIdentity } from "./identity/node-identity.js";
import { NodeClient } from "./coordinator-client/node-client.js";
import { mtlsAgent } from "./coordinator-client/pinned-tls.js";
import { buildSteps } from "./builders/index.js";
import { runSteps } from "./executor/executor.js";
import { renderPlan } from "./executor/plan-format.js";
import { runAgent } from "./run.js";
import type { KubeCredentials } from "./kube/kube-client.js";
import { runEdgeController } from "./edge/edge-controller.js";
import { runNodeRolesController } from "./node-roles/node-roles-controller.js";
import { runClusterDnsController, writeForwarders } from "./cluster-dns/dns-controller.js";
import { runLoadBalancerController } from "./load-balancer/lb-controller.js";
import { reservedPorts } from "./load-balancer/lb-allocation.js";
import { printFacts, runPushedStep } from "./push-module.js";
import { runMetricsServer } from "./metrics/metrics-server.js";
import { runLocalStorageController } from "./local-storage/local-storage-controller.js";
import { runSharedStorageController } from "./shared-storage/shared-storage-controller.js";
import { volumeSourceFor } from "./shared-storage/shared-provisioning.js";
import { METRICS_SERVICE } from "../shared/cert-profiles.js";

const USAGE = `sprout-agent ${SPROUT_VERSION} — configures this node from its Sprout coordinator

usage:
  sprout-agent run  [--bootstrap FILE] [--root DIR] [--once] [--join-timeout SECONDS]
  sprout-agent plan [--bootstrap FILE] [--root DIR] [--manifest FILE]
  sprout-agent edge --server URL --ca FILE --cert FILE --key FILE --base-domain NAME [--address IP]
                    [--node-name N --lb-addresses IP,… --lb-ports FROM-TO --open-ports P,…]
  sprout-agent node-roles --server URL --ca FILE --cert FILE --key FILE --master-label KEY
  sprout-agent cluster-dns --server URL --ca FILE --cert FILE --key FILE --domain NAME
                          --kubernetes-version V --dns-ip IP [--upstream IP]...
  sprout-agent cluster-dns-forwarders --dns-ip IP [--upstream IP]...
  sprout-agent metrics --server URL --ca FILE --cert FILE --key FILE --address IP
                      --front-proxy-ca FILE [--resolution SECONDS]
  sprout-agent local-storage --server URL --ca FILE --cert FILE --key FILE --node-name N
                            --class NAME --dir DIR
  sprout-agent shared-storage --server URL --ca FILE --cert FILE --key FILE --node-name N
                             [--volume NAME --dir MOUNT --kubernetes-version V --shared-path P
                              --capacity-gib N]
  sprout-agent step [--args FILE]
  sprout-agent facts
  sprout-agent version

  --bootstrap FILE  bootstrap file (default ${NODE_PATHS.bootstrap}, under --root when given)
  --root DIR        configure the rootfs at DIR offline instead of this machine
  --once            exit after converging instead of watching for manifest changes
  --manifest FILE   plan from a saved manifest (JSON) instead of asking the coordinator

  edge              the edge node's Ingress controller: routes Ingress objects through nginx
                    (run by sprout-edge.service, which the agent configures on edge nodes)
  node-roles        the master's node-role labeller: node-role.kubernetes.io labels from each
                    node's Sprout roles (run by sprout-node-roles.service on masters)
  cluster-dns       every node's cluster DNS feeder: unbound's records from Services and
                    EndpointSlices (run by sprout-cluster-dns.service)
  cluster-dns-forwarders
                    writes unbound's forwarders: the --upstream addresses, else this node's
                    resolvers (run by sprout-dns.service before unbound starts)
  metrics           the master's metrics.k8s.io server: node and pod usage from the kubelets,
                    for kubectl top and the HPA (run by sprout-metrics.service on masters)
  local-storage     every node's provisioner of node-local volumes (the default StorageClass)
                    for the claims placed on it (run by sprout-local-storage.service)
  shared-storage    the shared GlusterFS volume's provisioner: a directory with a quota per
                    claim of sprout-shared or sprout-reference (run by sprout-shared-storage.service
                    on the storage node that formed the volume; without --volume, on masters of a
                    cluster without storage nodes, it only tells claims why they wait)
  step              run one step pushed by a workstation, like an Ansible module: the request
                    (JSON) from --args FILE or the first line of stdin (bench/push, the baseline)
  facts             print this machine's facts as JSON (the push baseline's fact gathering)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bootstrap: { type: "string" },
      root: { type: "string" },
      once: { type: "boolean", default: false },
      "join-timeout": { type: "string" },
      manifest: { type: "string" },
      server: { type: "string" },
      ca: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "base-domain": { type: "string" },
      address: { type: "string" },
      "master-label": { type: "string" },
      "node-name": { type: "string" },
      "lb-addresses": { type: "string" },
      "lb-ports": { type: "string" },
      "open-ports": { type: "string" },
      domain: { type: "string" },
      "kubernetes-version": { type: "string" },
      "dns-ip": { type: "string" },
      upstream: { type: "string", multiple: true, default: [] },
      "front-proxy-ca": { type: "string" },
      resolution: { type: "string" },
      class: { type: "string" },
      volume: { type: "string" },
      "shared-path": { type: "string" },
      "capacity-gib": { type: "string" },
      dir: { type: "string" },
      args: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const host = new RealHost({ root: values.root });
  const bootstrapPath = values.bootstrap ?? (values.root ? `${values.root}${NODE_PATHS.bootstrap}` : NODE_PATHS.bootstrap);
  const log = createLogger({ component: "sprout-agent" });
  switch (command) {
    case "version":
      process.stdout.write(`${SPROUT_VERSION}\n`);
      return 0;
    case "run": {
      const signal = stopOnSignals();
      const joinTimeout = values["join-timeout"] === undefined ? undefined : Number(values["join-timeout"]) * 1000;
      if (joinTimeout !== undefined && !(joinTimeout > 0)) throw new UserError("--join-timeout must be a positive number of seconds");
      return runAgent({ bootstrapPath, host, once: values.once, log, joinDeadlineMs: joinTimeout, signal });
    }
    case "step":
      return runPushedStep(host, values.args);
    case "facts":
      return printFacts(host);
    case "plan":
      return plan(host, bootstrapPath, values.manifest);
    case "edge": {
      requireFlags("edge", values, ["server", "ca", "cert", "key", "base-domain"]);
      const signal = stopOnSignals();
      const credentials = kubeCredentials(values);
      const lb = loadBalancerFlags(values);
      await Promise.all([
        runEdgeController({ ...credentials, baseDomain: values["base-domain"]!, address: values.address, nodeName: values["node-name"], host, log: log.child({ component: "edge" }), signal }),
        ...(lb ? [runLoadBalancerController({ ...credentials, ...lb, host, log: log.child({ component: "load-balancer" }), signal })] : []),
      ]);
      return 0;
    }
    case "node-roles": {
      requireFlags("node-roles", values, ["server", "ca", "cert", "key", "master-label"]);
      const signal = stopOnSignals();
      await runNodeRolesController({ ...kubeCredentials(values), masterLabel: values["master-label"]!, log: log.child({ component: "node-roles" }), signal });
      return 0;
    }
    case "cluster-dns": {
      requireFlags("cluster-dns", values, ["server", "ca", "cert", "key", "domain", "kubernetes-version", "dns-ip"]);
      const signal = stopOnSignals();
      await runClusterDnsController({
        ...kubeCredentials(values),
        domain: values.domain!,
        kubernetesVersion: values["kubernetes-version"]!,
        dnsIp: values["dns-ip"]!,
        upstreams: values.upstream,
        host,
        log: log.child({ component: "cluster-dns" }),
        signal,
      });
      return 0;
    }
    case "metrics": {
      requireFlags("metrics", values, ["server", "ca", "cert", "key", "address", "front-proxy-ca"]);
      const resolution = Number(values.resolution ?? 15);
      if (!(resolution >= 1 && resolution <= 300)) throw new UserError(`--resolution ${values.resolution}: must be a number of seconds from 1 to 300`);
      const signal = stopOnSignals();
      await runMetricsServer({
        ...kubeCredentials(values),
        address: values.address!,
        port: METRICS_SERVICE.targetPort,
        frontProxyCaFile: values["front-proxy-ca"]!,
        resolutionMs: resolution * 1000,
        log: log.child({ component: "metrics" }),
        signal,
      });
      return 0;
    }
    case "local-storage": {
      requireFlags("local-storage", values, ["server", "ca", "cert", "key", "node-name", "class", "dir"]);
      const signal = stopOnSignals();
      await runLocalStorageController({ ...kubeCredentials(values), nodeName: values["node-name"]!, className: values.class!, baseDir: values.dir!, host, log: log.child({ component: "local-storage" }), signal });
      return 0;
    }
    case "shared-storage": {
      requireFlags("shared-storage", values, ["server", "ca", "cert", "key", "node-name", ...(values.volume ? ["dir", "kubernetes-version", "shared-path", "capacity-gib"] : [])]);
      const signal = stopOnSignals();
      const capacityGiB = Number(values["capacity-gib"] ?? 0);
      if (values.volume && !(capacityGiB > 0)) throw new UserError(`--capacity-gib ${values["capacity-gib"]}: must be a positive number`);
      const volume = values.volume ? { name: values.volume, mountPath: values.dir!, source: volumeSourceFor(values["kubernetes-version"]!, values.volume, values["shared-path"]!), capacityBytes: capacityGiB * 2 ** 30 } : undefined;
      await runSharedStorageController({ ...kubeCredentials(values), nodeName: values["node-name"]!, volume, host, log: log.child({ component: "shared-storage" }), signal });
      return 0;
    }
    case "cluster-dns-forwarders":
      if (!values["dns-ip"]) throw new UserError("cluster-dns-forwarders needs --dns-ip");
      await writeForwarders(host, values.upstream, values["dns-ip"]);
      return 0;
    default:
      throw new UserError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

/** Refuses a controller command that lacks any of its required flags, naming them all. */
function requireFlags(command: string, values: Record<string, unknown>, names: readonly string[]): void {
  const missing = names.filter((k) => !values[k]);
  if (missing.length > 0) throw new UserError(`${command} needs ${missing.map((k) => `--${k}`).join(", ")}`);
}

/** A controller's API server identity, from --server, --ca, --cert and --key (checked by requireFlags). */
function kubeCredentials(values: { server?: string; ca?: string; cert?: string; key?: string }): KubeCredentials {
  return { server: values.server!, caFile: values.ca!, certFile: values.cert!, keyFile: values.key! };
}

/** Aborted at SIGTERM (systemd stopping the unit) or SIGINT, so a command can leave cleanly. */
function stopOnSignals(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => controller.abort(new Error(`received ${sig}`)));
  return controller.signal;
}

/** The LoadBalancer controller's settings, when sprout-edge.service passes them (all or none). */
function loadBalancerFlags(v: Record<string, unknown>): { nodeName: string; addresses: string[]; ports: { from: number; to: number }; reserved: Record<number, string> } | undefined {
  const [name, addresses, ports, open] = [v["node-name"], v["lb-addresses"], v["lb-ports"], v["open-ports"]] as (string | undefined)[];
  if (name === undefined && addresses === undefined && ports === undefined) return undefined;
  if (!name || !addresses || !ports) throw new UserError("the edge's LoadBalancer controller needs --node-name, --lb-addresses and --lb-ports together");
  const m = /^(\d+)-(\d+)$/.exec(ports);
  if (!m) throw new UserError(`--lb-ports ${ports}: must be FROM-TO`);
  const openPorts = (open ?? "").split(",").filter(Boolean).map(Number);
  return { nodeName: name, addresses: addresses.split(",").filter(Boolean), ports: { from: Number(m[1]), to: Number(m[2]) }, reserved: reservedPorts(openPorts) };
}

/** Prints what `run` would change on this node, changing nothing. */
async function plan(host: Host, bootstrapPath: string, manifestFile: string | undefined): Promise<number> {
  let manifest: NodeManifest;
  if (manifestFile) {
    manifest = parseJsonWith(NodeManifest, await readFile(manifestFile, "utf8"), `manifest file ${manifestFile}`);
  } else {
    const identity = await loadNodeIdentity(host);
    if (!identity) throw new UserError("this node has not joined yet; run `sprout-agent run` first, or pass --manifest FILE");
    const bootstrap = await readBootstrap(bootstrapPath);
    const client = new NodeClient(identity.coordinatorUrl ?? bootstrap.coordinators[0]!, mtlsAgent(identity));
    try {
      manifest = await client.manifest();
    } finally {
      await client.close();
    }
  }
  const steps = buildSteps(manifest);
  const summary = await runSteps(steps, { host, mode: "plan" });
  process.stdout.write(renderPlan(summary, { steps }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (err: unknown) => {
    if (err instanceof UserError || err instanceof ValidationError) {
      process.stderr.write(`sprout-agent: ${err.message}\n`);
      return exitAfterFlush(2);
    }
    // A refusal from the coordinator names its stable code, e.g. "(token_expired)".
    const code = err instanceof ApiError ? ` (${err.code})` : "";
    process.stderr.write(`sprout-agent: ${describeError(err)}${code}\n`);
    exitAfterFlush(1);
  },
);
