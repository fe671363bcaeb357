import { spawn } from "node:child_process";
import type { CloudProvider } from "../../../shared/cloud-provider.js";
import { UserError } from "../../../shared/errors.js";
import { Coordinator } from "../../coordinator.js";
import { color, formatMs, progress } from "../../output.js";
import { acquireStateLock } from "../../state/state-lock.js";
import type { CoordinatorSession, Provider, ProviderPlan, UpContext } from "../../up/provider.js";
import { planCloud } from "./cloud-plan.js";
import { CloudOutputs, deliverStateKey, openMasterLink, remoteStatus, saveOutputs } from "./master-link.js";
import { cloudDir, renderCloud, wasRendered } from "./render-cloud.js";

/**
 * A cloud (OpenStack, AWS, GCP, Azure). `up` renders the configuration (the tokens, the master's
 * coordinator state sealed), creates every VM at once with `tofu` or `terraform` when one is
 * installed, hands the master the key to its state over SSH, and follows the nodes through an
 * SSH tunnel to the coordinator the master now runs. Without tofu/terraform it stops after
 * rendering and says how to go on.
 */
export const cloudProvider: Provider = {
  async prepare({ dir, paths, spec }: UpContext): Promise<ProviderPlan> {
    const provider = spec.provider as CloudProvider;
    const plan = planCloud(spec);
    const out = cloudDir(paths, spec);
    // A rendering the VMs may have booted from is reused as it is: no new tokens for it.
    const reuse = await wasRendered(out);
    return {
      spec,
      nodes: plan.nodes,
      openCoordinator: () => stateHere(spec, paths),
      needsJoin: (n, co) => !reuse && !co.store.getNode(n.name),
      async launch({ co, tokens, stopCoordinator }) {
        const rendered = await renderCloud(spec, paths, co, tokens);
        // The state goes sealed to the master; the local lock is not held while VMs are created.
        await stopCoordinator();
        const sizes = Object.values(rendered.userData).map((t) => Buffer.byteLength(t));
        const userData = `user-data of ${Math.min(...sizes)}–${Math.max(...sizes)} bytes`;
        progress(`sprout up ${spec.name}: ${plan.nodes.length} VM(s) on ${provider.type}; configuration in ${out} (main.tf, ${userData})`);
        const tool = await firstOnPath(["tofu", "terraform"]);
        if (!tool) {
          progress(
            color.yellow("neither tofu nor terraform is installed: nothing was created.") +
              ` To create the VMs: cd ${out} && tofu init && tofu apply -parallelism=${provider.parallelism};` +
              ` then run sprout up ${dir} again (it renders anew and finds the VMs).`,
          );
          return 0;
        }
        const t0 = Date.now();
        await runTool(tool, ["init", "-input=false"], out);
        await runTool(tool, ["apply", "-input=false", "-auto-approve", `-parallelism=${provider.parallelism}`], out);
        const raw = JSON.parse(await runTool(tool, ["output", "-json"], out, true)) as Record<string, { value: unknown }>;
        const outputs = CloudOutputs.parse({ masterPublicIp: raw.master_public_ip?.value, edgePublicIps: raw.edge_public_ips?.value ?? {} });
        await saveOutputs(out, outputs);
        progress(`VMs created in ${formatMs(Date.now() - t0)}; master at ${outputs.masterPublicIp}`);

        const link = await openMasterLink(spec, paths);
        let remote: Awaited<ReturnType<typeof remoteStatus>> | undefined;
        const close = async () => {
          await remote?.close();
          link.session.close();
        };
        try {
          await deliverStateKey(link, rendered.keyFile);
          progress("the master has the key to its coordinator state; following the nodes through an SSH tunnel");
          remote = await remoteStatus(link, paths);
          await untilAnswering(remote.status, 180_000);
          return {
            t0,
            status: remote.status,
            // Only the master is reachable from here; nodes that never join show as still working.
            probe: async () => ({ state: "working", reason: "not reachable from here (no public address); see `sprout status` once it joins" }),
            endNote: `the VMs keep running (\`cd ${out} && ${tool} destroy\` removes them); \`sprout tunnel ${dir}\` opens kubectl's way in`,
            close,
          };
        } catch (err) {
          await close();
          throw err;
        }
      },
    };
  },
};

/** The deployment's state, opened under its lock but not served: the master will serve it. */
async function stateHere(spec: UpContext["spec"], paths: UpContext["paths"]): Promise<CoordinatorSession> {
  const release = await acquireStateLock(paths.lock);
  try {
    const co = await Coordinator.open(spec, paths);
    let released = false;
    const stop = async () => {
      if (released) return;
      released = true;
      await release();
    };
    return { co, revokeTokensAtEnd: false, stop };
  } catch (err) {
    await release();
    throw err;
  }
}

async function firstOnPath(names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const found = await new Promise<boolean>((resolve) =>
      spawn(name, ["version"], { stdio: "ignore" })
        .once("error", () => resolve(false))
        .once("exit", (code) => resolve(code === 0)),
    );
    if (found) return name;
  }
  return undefined;
}

/** Runs tofu/terraform in the configuration's directory; its output goes to stderr as progress, unless captured. */
function runTool(tool: string, args: string[], cwd: string, capture = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd, stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"] });
    let out = "";
    child.stdout?.on("data", (d) => (out += String(d)));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new UserError(`${tool} ${args[0]} failed (exit ${code}) in ${cwd}; see its output above`)),
    );
  });
}

/** The master's coordinator starts once it has the key and has unsealed its state: wait for its first answer. */
async function untilAnswering(status: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let said = false; ; await new Promise((r) => setTimeout(r, 1_000))) {
    try {
      await status();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        const why = (err as Error).message;
        throw new UserError(`the coordinator on the master did not answer within ${formatMs(timeoutMs)}: ${why} (on the master: journalctl -u sprout-coordinator)`);
      }
      if (!said) progress(color.dim("  waiting for the coordinator on the master to start"));
      said = true;
    }
  }
}
