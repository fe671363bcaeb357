import type { StepKindImpl } from "./kind.js";
import type { StepOf } from "../../../shared/steps.js";
import type { Host } from "../../host/host.js";
import { TryAgainLater } from "../../../shared/errors.js";
import { outputTail } from "../../host/run-process.js";
import { gluster } from "../../host/gluster.js";

type VolumeStep = StepOf<"glusterVolume">;

/**
 * A GlusterFS volume: every brick's server probed into the trusted pool, the volume created with
 * its replica sets, started, and grown by whole replica sets (then its layout fixed, so new
 * directories spread onto the new bricks). Runs on one storage node, the one that forms the
 * volume; the others only run glusterd. A peer whose glusterd is not up yet is "not yet".
 */
export const glusterVolumeKind: StepKindImpl<"glusterVolume"> = {
  async check(step, host) {
    if (host.offline) return true;
    const info = await volumeInfo(host, step.name);
    return info !== undefined && info.started && missingBricks(step, info).length === 0;
  },

  async apply(step, host) {
    const servers = [...new Set(step.bricks.map((b) => b.slice(0, b.indexOf(":"))))];
    for (const server of servers) {
      const r = await gluster(host, ["peer", "probe", server]);
      if (r.code !== 0) throw new TryAgainLater(`glusterd on ${server} to accept a peer probe (${firstLine(r)})`);
    }
    const status = await gluster(host, ["pool", "list"]);
    // `pool list` names this node `localhost` and every other peer by its probed address.
    const disconnected = servers.filter((s) => new RegExp(`\\s${s.replace(/\./g, "\\.")}\\s+Disconnected`).test(status.stdout));
    if (disconnected.length > 0) throw new TryAgainLater(`GlusterFS peers ${disconnected.join(", ")} to connect`);

    const info = await volumeInfo(host, step.name);
    const replica = step.replication > 1 ? ["replica", String(step.replication)] : [];
    if (!info) {
      await must(host, ["volume", "create", step.name, ...replica, "transport", "tcp", ...step.bricks, "force"]);
    } else {
      const missing = missingBricks(step, info);
      if (missing.length > 0) {
        await must(host, ["volume", "add-brick", step.name, ...replica, ...missing, "force"]);
        if (info.started) await must(host, ["volume", "rebalance", step.name, "fix-layout", "start"]);
      }
    }
    if (!(await volumeInfo(host, step.name))?.started) await must(host, ["volume", "start", step.name]);
  },
};

interface VolumeInfo {
  bricks: string[];
  started: boolean;
}

/** `gluster volume info --xml`, or undefined when the volume does not exist. */
async function volumeInfo(host: Host, name: string): Promise<VolumeInfo | undefined> {
  const r = await gluster(host, ["volume", "info", name, "--xml"]);
  if (/Connection failed|not operational/i.test(r.stdout + r.stderr)) throw new TryAgainLater("glusterd to answer");
  if (r.code !== 0 || !/<volume>/.test(r.stdout)) return undefined;
  const bricks = [...r.stdout.matchAll(/<brick [^>]*>.*?<name>([^<]+)<\/name>/gs)].map((m) => m[1]!);
  return { bricks, started: /<statusStr>Started<\/statusStr>/.test(r.stdout) };
}

/** Wanted bricks the volume lacks, trimmed to whole replica sets (a half set cannot be added). */
function missingBricks(step: VolumeStep, info: VolumeInfo): string[] {
  const missing = step.bricks.filter((b) => !info.bricks.includes(b));
  return missing.slice(0, missing.length - (missing.length % step.replication));
}

async function must(host: Host, args: string[]): Promise<void> {
  const r = await gluster(host, args);
  if (r.code !== 0) throw new Error(`gluster ${args.join(" ")} failed: ${outputTail(r.stderr || r.stdout, 1000)}`);
}

function firstLine(r: { stdout: string; stderr: string }): string {
  return (r.stderr || r.stdout).trim().split("\n")[0] ?? "";
}
