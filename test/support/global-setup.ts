import { execFileSync } from "node:child_process";
import { clusterOfNamespace, uplinkName } from "../../coordinator/providers/local/node-network.js";

/**
 * Integration runs create network namespaces `sprout.it<6 hex>[.<node>]` and an uplink per test
 * cluster. A run killed from outside (timeout, Ctrl-C) cannot clean up after itself, so sweep
 * what such runs left, and only that: clusters named like test clusters, and their own uplinks.
 */
function sweep(): void {
  const ip = (args: string[]) => {
    try {
      return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      return "";
    }
  };
  const namespaces = ip(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]!);
  const clusters = new Set<string>();
  for (const ns of namespaces) {
    const cluster = clusterOfNamespace(ns);
    if (cluster && /^it[0-9a-f]{6}$/.test(cluster)) {
      ip(["netns", "del", ns]);
      clusters.add(cluster);
    }
  }
  for (const cluster of clusters) ip(["link", "del", uplinkName(cluster)]);
}

export function setup(): () => void {
  sweep();
  return sweep;
}
