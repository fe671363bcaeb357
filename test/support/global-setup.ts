import { execFileSync } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterOfNamespace, uplinkName } from "../../coordinator/providers/local/node-network.js";
import { cleanupCluster, listMachines } from "../../coordinator/providers/local/node-machine.js";
import { testNodeImage } from "./harness.js";

const TEST_CLUSTER = /^it[0-9a-f]{6}$/;

/**
 * Integration runs create node machines, network namespaces `sprout.it<6 hex>[.<node>]` and an
 * uplink per test cluster. A run killed from outside (timeout, Ctrl-C) cannot clean up after
 * itself, so sweep what such runs left, and only that: clusters named like test clusters.
 * Machines go first: they live inside the namespaces.
 */
async function sweep(): Promise<void> {
  for (const cluster of new Set((await listMachines()).map((m) => m.cluster))) {
    if (TEST_CLUSTER.test(cluster)) await cleanupCluster(cluster);
  }
  // Their deployment and machine state directories (`sprout-<cluster>-*` in the temp dir).
  for (const d of await readdir(tmpdir())) {
    const cluster = /^sprout-(it[0-9a-f]{6})-/.exec(d)?.[1];
    if (cluster) await rm(join(tmpdir(), d), { recursive: true, force: true });
  }
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
    if (cluster && TEST_CLUSTER.test(cluster)) {
      ip(["netns", "del", ns]);
      clusters.add(cluster);
    }
  }
  for (const cluster of clusters) ip(["link", "del", uplinkName(cluster)]);
}

/**
 * Both node images, built (or found in the cache) once before any suite: on a fresh machine the
 * first build takes about ten minutes (Kubernetes from source), which no suite's hook timeout
 * should have to absorb, and a build failure then fails the run up front, with its log.
 */
async function images(): Promise<void> {
  await testNodeImage("sprout");
  await testNodeImage("vanilla");
}

export async function setup(): Promise<() => Promise<void>> {
  await sweep();
  await images();
  return sweep;
}
