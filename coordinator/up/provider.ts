import type { BootstrapInput } from "../../shared/bootstrap.js";
import type { ClusterSpec, PlannedNode } from "../../shared/cluster-spec.js";
import type { ClusterStatus } from "../../shared/status.js";
import type { Coordinator } from "../coordinator.js";
import type { DeploymentPaths } from "../deployment.js";
import type { OutputFormat } from "../output.js";

/**
 * The seam between `sprout up` and where nodes run. The driver (up-driver.ts) owns the sequence
 * every provider shares: coordinator, tokens, launch, follow, revoke, stop. A provider says only
 * what differs: how it checks and prepares, where its coordinator runs, how machines get their
 * bootstrap files, and how to ask a machine whose agent never joined. A new provider is one new
 * implementation of this file's interfaces, chosen once in providers/registry.ts.
 */
export interface Provider {
  /** Checks and slow preparation (node image, bundle): what can be wrong is found before anything starts. */
  prepare(ctx: UpContext): Promise<ProviderPlan>;
}

export interface UpOptions {
  workers?: number;
  format: OutputFormat;
  keep: boolean;
  timeoutMs: number;
  /** Boot real node machines; false: the `--dry-run` of the protocol. */
  machines: boolean;
  /** The admin kubeconfig: merged into kubectl's default file (undefined), a file, or nowhere (false). */
  kubeconfig?: string | false;
  /** `--provider`: must name the provider cluster.yaml configures. */
  provider?: string;
}

export interface UpContext {
  dir: string;
  paths: DeploymentPaths;
  /** cluster.yaml as written, before a provider adjusts it (`--workers`, the image version). */
  spec: ClusterSpec;
  options: UpOptions;
}

export interface ProviderPlan {
  /** What the coordinator serves: cluster.yaml with the provider's adjustments. */
  spec: ClusterSpec;
  nodes: PlannedNode[];
  /** Opens the coordinator that issues the tokens: served here, or (clouds) only its state. */
  openCoordinator(): Promise<CoordinatorSession>;
  /** Which planned nodes still have to join, and so get a token. Default: those the state lacks. */
  needsJoin?(node: PlannedNode, co: Coordinator): boolean;
  /** Starts every node's agent with its bootstrap file. A number: stop `up` here with that exit code. */
  launch(input: LaunchInput): Promise<Launch | number>;
  /** Undoes what prepare set up for this run only (networks of a dry run); machines stay. */
  close?(): Promise<void>;
}

export interface CoordinatorSession {
  co: Coordinator;
  /** The URL agents dial, when this process serves them. */
  url?: string;
  /** Tokens this run issued are revoked when it ends (not on clouds: the master's state holds them). */
  revokeTokensAtEnd: boolean;
  /** Stops serving and releases the state lock; safe to call twice. */
  stop(): Promise<void>;
}

export interface LaunchInput {
  co: Coordinator;
  /**
   * The planned node's bootstrap file: its token (if it still has to join), the CA pin, the URL
   * of the coordinator this process serves (clouds render their own, for the master's).
   */
  bootstrap(node: PlannedNode): BootstrapInput;
  tokens: Map<string, string>;
  stopCoordinator(): Promise<void>;
}

export interface Launch {
  /** When the machines were asked to start: every duration `up` prints counts from here. */
  t0: number;
  /** The cluster's status: from the coordinator in this process, or through a tunnel to a remote one. */
  status(): Promise<ClusterStatus>;
  /** Asks a machine whose agent has not joined why. */
  probe(node: PlannedNode): Promise<AgentProbe>;
  /** Nodes the provider already knows failed (an install that did not go through): name → reason. */
  failed?: Map<string, string>;
  /**
   * Nodes whose agents the provider (re)started, and when: until such a node reports again, its
   * status is the previous agent's, and a "converged" from before the restart proves nothing.
   */
  restartedAt?: Map<string, number>;
  /** True once no agent can make progress any more (agent processes of a dry run all exited). */
  agentsGone?(): boolean;
  /** The last line's tail: what is left running and how to remove it. */
  endNote: string;
  /** No API server is running to write a kubeconfig for (the dry run's skeleton masters). */
  skipKubeconfig?: boolean;
  /** Extra fields for `-o json` (the dry run marks itself). */
  jsonExtra?: Record<string, unknown>;
  /** Releases what the launch holds open (SSH sessions, tunnels, agent processes). */
  close?(): Promise<void>;
}

/**
 * What a node's agent is doing, seen from inside its machine — for nodes that have not joined,
 * so the coordinator knows nothing of them:
 * - `failed`: it will not join by waiting (unit failed on bad input, no bootstrap file, machine down);
 * - `unreachable`: it runs and keeps retrying its join (no route to the coordinator, refused, …);
 * - `working`: still booting or joining.
 */
export interface AgentProbe {
  state: "failed" | "unreachable" | "working";
  reason: string;
}
