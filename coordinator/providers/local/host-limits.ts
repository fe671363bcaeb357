import { readFile, writeFile } from "node:fs/promises";

/**
 * Kernel limits every node machine on this host shares, because they share the host's kernel and
 * its root user: each kubelet (cAdvisor), containerd and systemd takes inotify instances, and
 * the default 128 per user runs out at about ten machines — the kubelet then dies at start with
 * "inotify_init: too many open files" and its node never registers. kind asks its users to raise
 * the same limits; the local provider raises them itself, never lowers them, and says so.
 */
const INOTIFY_LIMITS = {
  "/proc/sys/fs/inotify/max_user_instances": 8192,
  "/proc/sys/fs/inotify/max_user_watches": 524288,
} as const;

export async function raiseHostLimits(log: (line: string) => void = () => {}): Promise<void> {
  for (const [path, wanted] of Object.entries(INOTIFY_LIMITS)) {
    const current = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (!Number.isFinite(current) || current >= wanted) continue;
    await writeFile(path, `${wanted}\n`);
    log(`raised ${path.slice("/proc/sys/".length).replaceAll("/", ".")} from ${current} to ${wanted} for the node machines`);
  }
}
