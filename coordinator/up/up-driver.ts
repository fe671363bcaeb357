import type { PlannedNode } from "../../shared/cluster-spec.js";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import { adminKubeconfig, defaultKubeconfigPath } from "../access/admin-kubeconfig.js";
import { mergeKubeconfig } from "../access/kubeconfig-merge.js";
import { clusterNameFor, initDeployment } from "../deployment.js";
import { color, formatMs, printJson, progress } from "../output.js";
import { renderStatus } from "../status/render-status.js";
import { followNodes, type FollowResult } from "./follow-nodes.js";
import { issueTokens, nodeBootstrap } from "./join-tokens.js";
import type { Launch, Provider, UpContext, UpOptions } from "./provider.js";

/**
 * `sprout up` for every provider, in one sequence: prepare, open the coordinator, issue tokens
 * for the nodes that still have to join, launch, follow until every node settled, write the
 * admin kubeconfig, report, and always revoke this run's tokens and stop the coordinator, also
 * on Ctrl-C or SIGTERM.
 */
export async function runUp(provider: Provider, dir: string, options: UpOptions): Promise<number> {
  const { paths, spec } = await initDeployment(dir, clusterNameFor(dir));
  const ctx: UpContext = { dir, paths, spec, options };
  const plan = await provider.prepare(ctx);
  const interrupted = signalled();
  let session: Awaited<ReturnType<typeof plan.openCoordinator>> | undefined;
  let launch: Launch | number | undefined;
  const issued = new Set<string>();
  try {
    session = await plan.openCoordinator();
    const co = session.co;
    const needsJoin = (n: PlannedNode) => (plan.needsJoin ? plan.needsJoin(n, co) : !co.store.getNode(n.name));
    const tokens = await issueTokens(co, plan.nodes, plan.spec.coordinator.tokenTtl, needsJoin);
    for (const t of tokens.values()) issued.add(t);
    const url = session.url;
    launch = await plan.launch({
      co,
      tokens,
      bootstrap: (n) => {
        if (!url) throw new Error(`no coordinator is served here for ${n.name} to dial`);
        return nodeBootstrap(url, tokens, co.pki.caPin, n);
      },
      stopCoordinator: () => session!.stop(),
    });
    if (typeof launch === "number") return launch;
    const result = await followNodes(launch, plan.nodes, { ...options, stop: interrupted.promise });
    if (result.cut) progress(color.red(cutMessage(result.cut, options.timeoutMs)));
    if (!launch.skipKubeconfig) await writeAdminKubeconfig(result, dir, options);
    return report(result, plan.nodes, launch, options);
  } finally {
    interrupted.dispose();
    if (typeof launch === "object") await launch.close?.();
    // Tokens minted for this run are not left valid in bootstrap files once it is over.
    if (session?.revokeTokensAtEnd) {
      for (const t of issued) await session.co.tokens.revoke(t.split(".")[0]!).catch(() => undefined);
    }
    await session?.stop();
    await plan.close?.();
  }
}

function cutMessage(cut: NonNullable<FollowResult["cut"]>, timeoutMs: number): string {
  if (cut === "interrupted") return "interrupted; cleaning up (the machines keep running)";
  return `timed out after ${formatMs(timeoutMs)} with nodes still working; their agents go on (\`sprout status\` shows them while a coordinator runs)`;
}

async function writeAdminKubeconfig(result: FollowResult, dir: string, options: UpOptions): Promise<void> {
  if (options.kubeconfig === false) return;
  if (!result.final.nodes.some((n) => n.roles.includes("master") && n.phase === "converged")) return;
  const { text, context } = await adminKubeconfig(dir);
  const target = options.kubeconfig ?? defaultKubeconfigPath();
  if (options.kubeconfig) await writeFileAtomic(target, text, 0o600);
  else await mergeKubeconfig(target, text);
  progress(`kubectl: context ${context} in ${target}`);
}

/** The table, one line per node that did not make it and why, and the closing line; the exit code. */
function report(result: FollowResult, nodes: PlannedNode[], launch: Launch, options: UpOptions): number {
  const { final, unjoined } = result;
  const unfinished = nodes.filter((n) => final.nodes.find((s) => s.name === n.name)?.phase !== "converged");
  if (options.format === "json") {
    printJson({ ...final, unjoined, wallMs: Date.now() - launch.t0, ...launch.jsonExtra });
    return unfinished.length === 0 ? 0 : 1;
  }
  process.stdout.write(renderStatus(final));
  for (const n of unfinished) {
    const s = final.nodes.find((x) => x.name === n.name);
    const why = s ? `${s.phase}${s.error ? `: ${s.error}` : ""}` : unjoined.find((u) => u.name === n.name)!.reason;
    progress(color.red(`${n.name}: ${why}`));
  }
  const converged = nodes.length - unfinished.length;
  progress(`${converged} of ${nodes.length} nodes converged in ${formatMs(Date.now() - launch.t0)}; ${launch.endNote}`);
  return unfinished.length === 0 ? 0 : 1;
}

/** Resolves on the first SIGINT or SIGTERM, so `up` cleans up as at a normal end. */
function signalled(): { promise: Promise<string>; dispose(): void } {
  let onSignal: (sig: string) => void = () => undefined;
  const promise = new Promise<string>((resolve) => (onSignal = resolve));
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const h = () => onSignal(sig);
    process.once(sig, h);
    return [sig, h] as const;
  });
  return { promise, dispose: () => handlers.forEach(([sig, h]) => process.off(sig, h)) };
}
