import { spawn } from "node:child_process";
import { clusterNameFor, initDeployment } from "../../deployment.js";
import { Coordinator } from "../../coordinator.js";
import { acquireStateLock } from "../../state/state-lock.js";
import { renderCloud } from "../../providers/cloud/render-cloud.js";
import { CloudOutputs, deliverStateKey, openMasterLink, remoteStatus, saveOutputs } from "../../providers/cloud/master-link.js";
import { UserError } from "../../../shared/errors.js";
import type { CloudProvider } from "../../../shared/cloud-provider.js";
import { color, formatMs, progress } from "../output.js";
import { followToEnd } from "./up-follow.js";
import type { UpOptions } from "./up.js";

/**
 * `sprout up` on a cloud: render the configuration (tokens issued, the master's coordinator
 * state sealed), create every VM at once with `tofu` or `terraform` when one is installed, hand
 * the master the key to its state over SSH, and follow the nodes through an SSH tunnel to the
 * coordinator the master now runs. Without tofu/terraform it stops after rendering and says how
 * to go on.
 */
export async function upCloud(dir: string, options: UpOptions): Promise<number> {
  const { paths, spec } = await initDeployment(dir, clusterNameFor(dir));
  const provider = spec.provider as CloudProvider;
  const release = await acquireStateLock(paths.lock);
  let rendered;
  try {
    rendered = await renderCloud(spec, paths, await Coordinator.open(spec, paths));
  } finally {
    await release();
  }
  const sizes = Object.values(rendered.userData).map((t) => Buffer.byteLength(t));
  progress(`sprout up ${spec.name}: ${rendered.plan.nodes.length} VM(s) on ${provider.type}; configuration in ${rendered.dir} (main.tf, user-data of ${Math.min(...sizes)}–${Math.max(...sizes)} bytes)`);
  const tool = await firstOnPath(["tofu", "terraform"]);
  if (!tool) {
    progress(
      color.yellow("neither tofu nor terraform is installed: nothing was created.") +
        ` To create the VMs: cd ${rendered.dir} && tofu init && tofu apply -parallelism=${provider.parallelism}; then run sprout up ${dir} again (it renders anew and finds the VMs).`,
    );
    return 0;
  }
  const t0 = Date.now();
  await runTool(tool, ["init", "-input=false"], rendered.dir);
  await runTool(tool, ["apply", "-input=false", "-auto-approve", `-parallelism=${provider.parallelism}`], rendered.dir);
  const out = JSON.parse(await runTool(tool, ["output", "-json"], rendered.dir, true)) as Record<string, { value: unknown }>;
  const outputs = CloudOutputs.parse({ masterPublicIp: out.master_public_ip?.value, edgePublicIps: out.edge_public_ips?.value ?? {} });
  await saveOutputs(rendered.dir, outputs);
  progress(`VMs created in ${formatMs(Date.now() - t0)}; master at ${outputs.masterPublicIp}`);

  const link = await openMasterLink(spec, paths);
  try {
    await deliverStateKey(link, rendered.keyFile);
    progress("the master has the key to its coordinator state; following the nodes through an SSH tunnel");
    const remote = await remoteStatus(link, paths);
    try {
      await untilAnswering(remote.status, 180_000);
      return await followToEnd({
        status: remote.status,
        dir,
        nodes: rendered.plan.nodes,
        options,
        t0,
        // Only the master is reachable from here; nodes that never join show as still working.
        probe: async () => ({ state: "working", reason: "not reachable from here (no public address); see `sprout status` once it joins" }),
        endNote: `the VMs keep running (\`cd ${rendered.dir} && ${tool} destroy\` removes them); \`sprout tunnel ${dir}\` opens kubectl's way in`,
      });
    } finally {
      await remote.close();
    }
  } finally {
    link.session.close();
  }
}

async function firstOnPath(names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const found = await new Promise<boolean>((resolve) => spawn(name, ["version"], { stdio: "ignore" }).once("error", () => resolve(false)).once("exit", (code) => resolve(code === 0)));
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
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new UserError(`${tool} ${args[0]} failed (exit ${code}) in ${cwd}; see its output above`))));
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
      if (Date.now() > deadline) throw new UserError(`the coordinator on the master did not answer within ${formatMs(timeoutMs)}: ${(err as Error).message} (on the master: journalctl -u sprout-coordinator)`);
      if (!said) progress(color.dim("  waiting for the coordinator on the master to start"));
      said = true;
    }
  }
}
