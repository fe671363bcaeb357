import { hostname } from "node:os";
import type { AgentEventInput } from "../shared/events.js";
import { PROTOCOL_VERSION } from "../shared/versions.js";
import type { NodeManifest } from "../shared/node-manifest.js";
import { describeError } from "../shared/errors.js";
import type { Logger } from "../shared/log.js";
import type { Host } from "./host/host.js";
import { readBootstrap } from "./bootstrap-file.js";
import { gatherFacts } from "./facts/node-facts.js";
import { nodeAddresses } from "./node-addresses.js";
import { buildNodeCsr } from "./identity/node-csr.js";
import { loadNodeIdentity, loadOrCreateNodeKey, storeNodeIdentity, type NodeIdentity } from "./identity/node-identity.js";
import { joinWithRetry } from "./coordinator-client/join-client.js";
import { mtlsAgent } from "./coordinator-client/pinned-tls.js";
import { NodeClient } from "./coordinator-client/node-client.js";
import { EventStream } from "./coordinator-client/event-stream.js";
import { askOrWait, retryTransient } from "./coordinator-client/transient.js";
import { backoffDelay } from "../shared/backoff.js";
import { buildSteps } from "./builders/index.js";
import { loadCachedManifest, storeManifest } from "./manifest-cache.js";
import { rememberingBarriers } from "./barrier-memory.js";
import { applyProxyEnv } from "./proxy-env.js";
import { runSteps } from "./executor/executor.js";

/** How often a watching agent re-checks its node against an unchanged manifest (drift). */
const RECHECK_MS = 300_000;
/** How long a restarted agent waits for the coordinator before using its cached manifest. */
const FIRST_MANIFEST_WAIT_MS = 10_000;

export interface AgentOptions {
  bootstrapPath: string;
  host: Host;
  /** Exit after converging on the latest manifest instead of watching for changes. */
  once: boolean;
  log: Logger;
  joinDeadlineMs?: number;
  signal?: AbortSignal;
}

/**
 * The agent's life as one straight sequence: bootstrap → join (once per node) → event stream →
 * manifest → configure, then re-configure whenever the coordinator announces a new revision.
 * Returns the process exit code.
 */
export async function runAgent(o: AgentOptions): Promise<number> {
  const early: AgentEventInput[] = [];
  const phase = timedPhases((e) => early.push(e));

  const bootstrap = await phase("bootstrap", () => readBootstrap(o.bootstrapPath));
  const nodeName = bootstrap.nodeName ?? hostname().toLowerCase();
  const log = o.log.child({ node: nodeName });

  const joined = await phase("join", () => joinOnce(o, bootstrap, nodeName, log));
  const stream = new EventStream(joined.coordinator, joined.identity, log);
  const emit = (e: AgentEventInput) => stream.emit(e);
  stream.start();
  early.forEach(emit);
  const runPhase = timedPhases(emit);

  const client = new NodeClient(joined.coordinator, mtlsAgent(joined.identity));
  const fetchManifest = () => retryTransient("fetching the manifest", () => client.manifest(o.signal), { log, signal: o.signal });
  let announced = 0;
  let wake: (() => void) | undefined;
  stream.onFrame((f) => {
    if (f.type === "manifest" && f.revision > announced) {
      announced = f.revision;
      wake?.();
    }
  });
  /** Resolves when a newer revision is announced, after the periodic re-check interval, or on abort. */
  const nextAnnouncement = (revision: number, waitMs: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener("abort", done, { once: true });
      wake = done;
      if (announced > revision || signal?.aborted) done();
    });

  let failed = 0;
  try {
    let manifest: NodeManifest = joined.manifest ?? (await runPhase("manifest", () => firstManifest(client, o, log)));
    let recheck = false;
    let failedPasses = 0;
    for (;;) {
      const current = manifest;
      // A periodic re-check of an unchanged revision corrects drift quietly: its events are
      // sent only if it had to change something or failed, not every five minutes per node.
      const quiet: AgentEventInput[] = [];
      const passEmit = recheck ? (e: AgentEventInput) => quiet.push({ ...e, ts: e.ts ?? Date.now() }) : emit;
      if (!o.host.offline) applyProxyEnv(current);
      const summary = await timedPhases(passEmit)(`configure r${current.revision}`, () =>
        runSteps(buildSteps(current), {
          host: o.host,
          mode: "apply",
          emit: passEmit,
          barriers: rememberingBarriers(o.host, (name) => client.barrier(name, o.signal)),
          sign: (profile, csr) => askOrWait(`signing ${profile}`, () => client.sign(profile, csr, o.signal)),
          revision: current.revision,
          signal: o.signal,
        }),
      );
      if (recheck && (summary.changed > 0 || summary.failed > 0)) quiet.forEach(emit);
      failed = summary.failed;
      await storeManifest(o.host, current);
      log.info("configuration pass finished", { revision: current.revision, changed: summary.changed, failed: summary.failed, durationMs: Math.round(summary.durationMs) });
      // Anything announced while we worked (a master joined, peers changed) is applied before we call it done.
      const latest = await fetchManifest();
      if (latest.revision !== current.revision) {
        manifest = latest;
        recheck = false;
        continue;
      }
      if (o.once) break;
      // A pass that failed is retried soon (with backoff), not at the next drift check.
      failedPasses = summary.failed > 0 ? failedPasses + 1 : 0;
      await nextAnnouncement(current.revision, failedPasses > 0 ? backoffDelay(failedPasses, { initialMs: 5_000, maxMs: RECHECK_MS }) : RECHECK_MS, o.signal);
      if (o.signal?.aborted) break;
      manifest = await fetchManifest();
      recheck = manifest.revision === current.revision;
    }
  } finally {
    const drained = await stream.drain(15_000);
    if (!drained) log.warn("some progress events were not acknowledged before exit");
    stream.close();
    await client.close();
  }
  return failed > 0 ? 1 : 0;
}

/**
 * The manifest to start from: the coordinator's, if it answers soon; else the one this node
 * applied last (it is away, e.g. the workstation that ran `sprout up` is closed); else wait.
 */
async function firstManifest(client: NodeClient, o: AgentOptions, log: Logger): Promise<NodeManifest> {
  // A plain controller and timer: on Node 20, AbortSignal.any over AbortSignal.timeout may be
  // garbage-collected before it fires, and the quick wait would never end.
  const quick = new AbortController();
  const timer = setTimeout(() => quick.abort(new Error("the coordinator did not answer in time")), FIRST_MANIFEST_WAIT_MS);
  const forward = () => quick.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", forward, { once: true });
  try {
    return await retryTransient("fetching the manifest", () => client.manifest(quick.signal), { log, signal: quick.signal, maxDelayMs: 2_000 });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const cached = await loadCachedManifest(o.host);
    if (cached) {
      log.warn("coordinator not answering; converging from the last manifest this node received", { revision: cached.revision });
      return cached;
    }
    return retryTransient("fetching the manifest", () => client.manifest(o.signal), { log, signal: o.signal });
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", forward);
  }
}

/** Join unless this node already holds a valid identity from an earlier run (the token is single-use in spirit). */
async function joinOnce(o: AgentOptions, bootstrap: Awaited<ReturnType<typeof readBootstrap>>, nodeName: string, log: Logger): Promise<{ identity: NodeIdentity; coordinator: string; manifest?: NodeManifest }> {
  const existing = await loadNodeIdentity(o.host);
  if (existing) {
    log.info("already joined; using the stored node certificate");
    return { identity: existing, coordinator: existing.coordinatorUrl ?? bootstrap.coordinators[0]! };
  }
  const [facts, keyPem] = await Promise.all([gatherFacts(o.host), loadOrCreateNodeKey(o.host)]);
  const addresses = nodeAddresses(bootstrap, facts);
  const csr = buildNodeCsr(keyPem, nodeName, [nodeName], addresses);
  const { response, coordinator } = await joinWithRetry(
    bootstrap.coordinators,
    bootstrap.caPin,
    { protocolVersion: PROTOCOL_VERSION, token: bootstrap.token, nodeName, roles: bootstrap.roles, addresses, csr, facts },
    { log, signal: o.signal, deadlineMs: o.joinDeadlineMs },
  );
  await storeNodeIdentity(o.host, response.certificate, response.caBundle, coordinator);
  log.info("joined", { coordinator, revision: response.manifest.revision });
  return { identity: { keyPem, certPem: response.certificate, caPem: response.caBundle }, coordinator, manifest: response.manifest };
}

/**
 * Wraps work in phase started/finished/failed events with durations. Each event is stamped when
 * it happens: the ones before the join wait in a buffer until the stream exists.
 */
function timedPhases(emit: (e: AgentEventInput) => void) {
  return async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    emit({ type: "phase", phase: name, status: "started", ts: Date.now() });
    try {
      const result = await work();
      emit({ type: "phase", phase: name, status: "finished", durationMs: performance.now() - started, ts: Date.now() });
      return result;
    } catch (err) {
      emit({ type: "phase", phase: name, status: "failed", durationMs: performance.now() - started, message: describeError(err).slice(0, 4000), ts: Date.now() });
      throw err;
    }
  };
}
