import type { ClusterSpec } from "../shared/cluster-spec.js";
import type { CoordinatorFrame } from "../shared/events.js";
import type { ClusterStatus, NodeStatus } from "../shared/status.js";
import { loadOrCreateClusterPki, type ClusterPki } from "./pki/cluster-pki.js";
import type { DeploymentPaths } from "./deployment.js";
import { StateStore } from "./state/store.js";
import type { NodeRecord } from "./state/records.js";
import { TokenService } from "./tokens/token-service.js";
import { ManifestService } from "./manifest/manifest-service.js";
import type { ClusterFacts } from "./manifest/render-manifest.js";
import { apiServerEndpointOf, clusterFactsOf } from "./manifest/cluster-facts.js";
import { loadEdgeTls, type EdgeTls } from "./edge-tls.js";
import { buildNodeStatus } from "./status/timeline.js";
import { evaluateBarriers } from "./barriers.js";
import { Metrics } from "./metrics.js";

/** An open agent event stream (Hono's WSContext satisfies this). */
export interface AgentStream {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * The coordinator's state and services for one cluster, shared by the HTTP routes, the event
 * stream and the CLI's direct (no server) mode.
 */
/** Manifest notices after joins: once joins pause this long, and at least this often during a burst. */
const NOTIFY_QUIET_MS = 500;
const NOTIFY_MAX_WAIT_MS = 3000;

export class Coordinator {
  readonly tokens: TokenService;
  readonly manifests: ManifestService;
  readonly metrics = new Metrics();
  /** Addresses the coordinator serves on (filled by `listen`): no node may claim them. */
  readonly servingAddresses = new Set<string>();
  /** Open event streams per node: where manifest and barrier notifications go. */
  private streams = new Map<string, Set<AgentStream>>();
  private barrierState: Record<string, boolean> = {};

  /** The user's certificate for the edge's HTTPS, if cluster.yaml names one. */
  edgeTls: EdgeTls | undefined;

  private constructor(
    readonly spec: ClusterSpec,
    readonly paths: DeploymentPaths,
    readonly store: StateStore,
    readonly pki: ClusterPki,
  ) {
    this.tokens = new TokenService(store);
    this.manifests = new ManifestService(spec, store, (pending) => this.clusterFacts(pending));
  }

  static async open(spec: ClusterSpec, paths: DeploymentPaths): Promise<Coordinator> {
    const pki = await loadOrCreateClusterPki(paths.pkiDir);
    const store = await StateStore.open(paths.stateDir);
    const co = new Coordinator(spec, paths, store, pki);
    co.edgeTls = await loadEdgeTls(spec, paths.root);
    co.barrierState = evaluateBarriers(spec, await co.nodeStatuses());
    return co;
  }

  /** `pending`: a node being joined, counted as if already stored. */
  clusterFacts(pending?: NodeRecord): ClusterFacts {
    const nodes = pending ? [...this.store.listNodes().filter((n) => n.name !== pending.name), pending] : this.store.listNodes();
    return clusterFactsOf(this.spec, this.pki, nodes, this.edgeTls);
  }

  /** The spec's endpoint, else the first master to join. */
  apiServerEndpoint(pending?: NodeRecord): string | undefined {
    return apiServerEndpointOf(this.spec, pending ? [...this.store.listNodes(), pending] : this.store.listNodes());
  }

  private notifyTimer: NodeJS.Timeout | undefined;
  private pendingSince: number | undefined;
  /** Each node's folded timeline, kept while its inputs are the same (barriers read all nodes on every convergence). */
  private statusCache = new Map<string, { key: string; status: NodeStatus }>();

  /**
   * A join changes every other node's manifest (its peers, and the API server endpoint when the
   * first master joins). Notices are debounced, so a burst of joins costs each agent one refetch.
   */
  onNodeJoined(_node: NodeRecord): void {
    // Trailing debounce with a ceiling: a burst of joins is announced once it pauses, or every
    // NOTIFY_MAX_WAIT_MS (longer for big clusters) while it lasts — not every 500 ms, which made each of 200 nodes refetch
    // its manifest 11 times during one burst (every join changes everyone's peers).
    this.pendingSince ??= Date.now();
    clearTimeout(this.notifyTimer);
    // Every notice costs each node a refetch of a manifest that grows with the cluster (its
    // peers), so bigger clusters coalesce longer: 3 s, plus 5 ms per node (8 s at 1,000).
    const maxWait = NOTIFY_MAX_WAIT_MS + 5 * this.store.listNodes().length;
    const wait = Math.max(0, Math.min(NOTIFY_QUIET_MS, this.pendingSince + maxWait - Date.now()));
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.pendingSince = undefined;
      void this.notifyManifestChanges();
    }, wait);
    this.notifyTimer.unref();
  }

  private async notifyManifestChanges(): Promise<void> {
    for (const name of this.streams.keys()) {
      const manifest = await this.manifests.current(name).catch(() => undefined);
      if (manifest) this.send(name, { type: "manifest", revision: manifest.revision });
    }
  }

  attachStream(nodeName: string, ws: AgentStream): void {
    let set = this.streams.get(nodeName);
    if (!set) this.streams.set(nodeName, (set = new Set()));
    set.add(ws);
  }

  detachStream(nodeName: string, ws: AgentStream): void {
    const set = this.streams.get(nodeName);
    set?.delete(ws);
    if (set && set.size === 0) this.streams.delete(nodeName);
  }

  isConnected(nodeName: string): boolean {
    return (this.streams.get(nodeName)?.size ?? 0) > 0;
  }

  send(nodeName: string, frame: CoordinatorFrame): void {
    for (const ws of this.streams.get(nodeName) ?? []) if (ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  async nodeStatus(node: NodeRecord): Promise<NodeStatus> {
    const events = await this.store.eventLog(node.name).load();
    const connected = this.isConnected(node.name);
    // The event log only grows, so its length stands for its content.
    const key = `${events.length}|${connected}|${node.manifestRevision}|${node.joinedAt}`;
    const cached = this.statusCache.get(node.name);
    if (cached?.key === key) return cached.status;
    const status = buildNodeStatus(node, events, connected);
    this.statusCache.set(node.name, { key, status });
    return status;
  }

  async nodeStatuses(): Promise<NodeStatus[]> {
    return Promise.all(this.store.listNodes().map((n) => this.nodeStatus(n)));
  }

  async clusterStatus(): Promise<ClusterStatus> {
    return { cluster: this.spec.name, generatedAt: Date.now(), nodes: await this.nodeStatuses() };
  }

  barrier(name: string): boolean | undefined {
    // `name` comes from a request: never let it reach Object.prototype.
    return Object.hasOwn(this.barrierState, name) ? this.barrierState[name] : undefined;
  }

  /**
   * Re-evaluates barriers after a node's progress and pushes the ones that opened. A barrier is a
   * one-way fact for the life of this coordinator ("every storage node reported"): a later pass
   * that runs the same step again must not close it while agents are waiting on it.
   */
  async refreshBarriers(): Promise<void> {
    const next = evaluateBarriers(this.spec, await this.nodeStatuses());
    for (const [name, ready] of Object.entries(this.barrierState)) if (ready) next[name] = true;
    for (const [name, ready] of Object.entries(next)) {
      if (this.barrierState[name] !== ready) {
        for (const node of this.streams.keys()) this.send(node, { type: "barrier", name, ready });
      }
    }
    this.barrierState = next;
  }
}
