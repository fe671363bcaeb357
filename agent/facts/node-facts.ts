import { readFile, writeFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import si from "systeminformation";
import { NODE_PATHS } from "../../shared/node-manifest.js";
import type { NodeFacts } from "../../shared/join.js";
import { SPROUT_VERSION } from "../../shared/versions.js";
import type { Host } from "../host/host.js";

/**
 * What the coordinator learns about the machine at join. Each probe is bounded: a slow or
 * failing probe (no disks visible in a sandbox, say) yields an empty answer, never a stuck join.
 */
export async function gatherFacts(host: Host): Promise<NodeFacts> {
  const [cpu, mem, os, disks, machineId, imageVersion] = await Promise.all([
    probe(() => si.cpu(), undefined),
    probe(() => si.mem(), undefined),
    probe(() => si.osInfo(), undefined),
    probe(() => si.blockDevices(), []),
    host.readFile("/etc/machine-id").then((b) => b?.toString("utf8").trim() ?? ""),
    host.readFile(NODE_PATHS.imageVersion).then((b) => b?.toString("utf8").trim() || "none"),
  ]);
  return {
    hostname: hostname(),
    machineId: machineId.slice(0, 128),
    cpus: cpu?.cores ?? 0,
    memoryBytes: mem?.total ?? 0,
    disks: disks.filter((d) => d.type === "disk").slice(0, 64).map((d) => ({ name: d.name.slice(0, 256), sizeBytes: d.size, type: d.type })),
    nics: ownNics(),
    os: os ? `${os.distro} ${os.release}`.slice(0, 256) : "unknown",
    kernel: os?.kernel.slice(0, 256) ?? "unknown",
    imageVersion: imageVersion.slice(0, 128),
    agentVersion: SPROUT_VERSION,
    oomScoreAdjRestricted: await oomScoreAdjRestricted(),
  };
}

/**
 * Lowers this process's own oom_score_adj to -999 and puts it back: lowering needs
 * CAP_SYS_RESOURCE, which is exactly what runc needs to honour containerd's adjustments. The
 * agent's own process is what is probed, so this reads /proc directly rather than through Host.
 */
async function oomScoreAdjRestricted(): Promise<boolean> {
  const file = "/proc/self/oom_score_adj";
  try {
    const current = Number((await readFile(file, "utf8")).trim());
    if (current <= -999) return false; // already that low: lowering was allowed
    // Lowering by one can pass without the capability (down to the process's oom_score_adj_min);
    // containerd asks for -999 for its shims, so that is what is tried.
    await writeFile(file, "-999");
    await writeFile(file, String(current));
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EACCES" || (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Interfaces and their IPv4 addresses straight from the kernel (os.networkInterfaces): instant,
 * where systeminformation's probe spawns tools (~90 ms) and reports one address per interface.
 */
function ownNics(): NodeFacts["nics"] {
  return Object.entries(networkInterfaces())
    .map(([name, addrs]) => ({
      name: name.slice(0, 64),
      mac: addrs?.[0]?.mac ?? "",
      ipv4: (addrs ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address).slice(0, 32),
    }))
    .filter((n) => n.ipv4.length > 0)
    .slice(0, 64);
}

async function probe<T>(fn: () => Promise<T>, fallback: T, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([fn(), new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)))]);
  } catch {
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}
