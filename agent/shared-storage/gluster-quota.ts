import type { Host } from "../host/host.js";
import { gluster } from "../host/gluster.js";
import { outputTail } from "../host/run-process.js";
import { TryAgainLater } from "../../shared/errors.js";

/**
 * GlusterFS directory quotas, the limit of each claim's directory. Run on a storage node (the
 * quota commands need its glusterd). Options set each time the provisioner starts:
 * - `quota-deem-statfs`: `df` in a pod shows its claim's size and use, not the whole volume;
 * - `soft-timeout`/`hard-timeout` 0: every write is checked against fresh usage, so a claim
 *   cannot overshoot its limit by the seconds of writes a cached usage would let through (the
 *   cost is measured: docs/storage.md).
 */
const VOLUME_OPTIONS: [string, string][] = [
  ["features.quota-deem-statfs", "on"],
  ["features.soft-timeout", "0"],
  ["features.hard-timeout", "0"],
  // And one the claims' subdirectory mounts rely on: with lookup-optimize (on by default since
  // GlusterFS 7), a file whose name hashes to a replica set added later is reported missing
  // until a full rebalance moves it (glusterfs#3790); without it a miss asks every set.
  ["cluster.lookup-optimize", "off"],
];

export async function enableQuota(host: Host, volume: string): Promise<void> {
  const r = await gluster(host, ["volume", "quota", volume, "enable"]);
  if (r.code !== 0 && !/already enabled/i.test(r.stderr + r.stdout)) fail(["volume", "quota", volume, "enable"], r);
  for (const [key, value] of VOLUME_OPTIONS) await must(host, ["volume", "set", volume, key, value]);
}

/** Sets (or raises) the limit of `/<dir>` on the volume, in bytes. */
export async function limitDirectory(host: Host, volume: string, dir: string, bytes: number): Promise<void> {
  await must(host, ["volume", "quota", volume, "limit-usage", `/${dir}`, String(bytes)]);
}

/** Removes the limit of `/<dir>`; a limit that is already gone is fine. */
export async function unlimitDirectory(host: Host, volume: string, dir: string): Promise<void> {
  const args = ["volume", "quota", volume, "remove", `/${dir}`];
  const r = await gluster(host, args);
  if (r.code !== 0 && !/No such file|not (?:set|configured)|no quota/i.test(r.stderr + r.stdout)) fail(args, r);
}

async function must(host: Host, args: string[]): Promise<void> {
  const r = await gluster(host, args);
  if (r.code !== 0) fail(args, r);
}

function fail(args: string[], r: { stdout: string; stderr: string }): never {
  const text = (r.stderr || r.stdout).trim();
  // Two gluster commands at once (the volume step, a peer) lock each other out for a moment.
  if (/Another transaction is in progress|Locking failed|not connected|Connection failed/i.test(text)) throw new TryAgainLater(`glusterd to take gluster ${args.join(" ")} (${text.split("\n")[0]})`);
  throw new Error(`gluster ${args.join(" ")} failed: ${outputTail(text, 1000)}`);
}
