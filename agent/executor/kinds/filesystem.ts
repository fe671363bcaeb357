import type { StepKindImpl } from "./kind.js";
import type { Host } from "../../host/host.js";
import { TryAgainLater } from "../../../shared/errors.js";
import { outputTail } from "../../host/run-process.js";

/**
 * A filesystem on a block device. Formats only a device that holds nothing: `blkid -p` (probing
 * the device itself, not a cache) must find neither a filesystem nor a partition table. A device
 * with the wanted filesystem type is taken as is, whatever its label: it may hold a brick's data.
 * Offline there is no device: volumes are attached to running machines only.
 */
export const filesystemKind: StepKindImpl<"filesystem"> = {
  async check(step, host) {
    if (host.offline) return true;
    const found = await probe(host, step.device);
    if (found.TYPE === step.fsType) return true;
    if (found.TYPE || found.PTTYPE) {
      throw new Error(
        `${step.device} already holds ${found.TYPE ? `a ${found.TYPE} filesystem` : `a ${found.PTTYPE} partition table`}; ` +
          `Sprout formats only empty devices (wipe it with \`wipefs -a ${step.device}\`, or name another device in storage.device)`,
      );
    }
    return false;
  },

  async apply(step, host) {
    const argv = step.fsType === "xfs" ? ["mkfs.xfs", "-q", "-L", step.label, step.device] : ["mkfs.ext4", "-q", "-L", step.label, step.device];
    const r = await host.exec(argv, { timeoutMs: step.deadlineSeconds * 1000 });
    if (r.code !== 0) throw new Error(`${argv.join(" ")} failed: ${outputTail(r.stderr || r.stdout, 1000)}`);
  },
};

/** `blkid -p -o export`: KEY=value lines; exit 2 means the device holds nothing blkid knows. */
async function probe(host: Host, device: string): Promise<Record<string, string>> {
  if (!(await host.stat(device))) throw new TryAgainLater(`block device ${device} to be attached`);
  const r = await host.exec(["blkid", "-p", "-o", "export", device]);
  if (r.code === 2) return {};
  if (r.code !== 0) throw new Error(`blkid -p ${device} failed (exit ${r.code}): ${outputTail(r.stderr, 500)}`);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}
