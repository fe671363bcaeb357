import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster, sleep, waitFor } from "./support/harness.js";

/**
 * Crash safety: the coordinator is killed with SIGKILL while a burst of agents is joining, then
 * restarted on the same address. Agents retry with backoff, resend unacknowledged events, and
 * the cluster ends with exactly one node record and one token use per node.
 */
describe("coordinator killed during a burst of joins", () => {
  let cluster: TestCluster;
  let exits: { code: number; stderr: string }[] = [];
  let nodesAtKill = 0;
  const groups = [
    { name: "master", roles: ["master" as const], count: 1 },
    { name: "service", roles: ["service" as const], count: 15 },
  ];

  beforeAll(async () => {
    cluster = await TestCluster.create(groups);
    await cluster.startCoordinator();
    const tokens = new Map<string, string>();
    for (const g of groups) tokens.set(g.name, await cluster.createToken(g.roles, g.count));
    for (const node of cluster.nodes) await cluster.prepareNode(node, { token: tokens.get(node.group)! });

    // A burst spread over ~1.5 s so the kill lands with joins before, during and after it.
    const runs = [];
    for (const node of cluster.nodes) {
      runs.push(cluster.startAgent(node, ["--once", "--join-timeout", "180"]));
      await sleep(100);
      if (node.name === "service-4") {
        // Count records only: an in-flight write also shows up as a `.tmp` entry.
        const records = async () => (await readdir(join(cluster.stateDir, "nodes"))).filter((f) => f.endsWith(".json")).length;
        await waitFor(async () => (await records()) >= 2, 30_000, "first joins");
        nodesAtKill = await records();
        await cluster.stopCoordinator("SIGKILL");
      }
    }
    await sleep(1500);
    await cluster.startCoordinator();
    exits = await Promise.all(runs.map((r) => r.exited));
  }, 300_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("was really killed mid-burst", () => {
    expect(nodesAtKill).toBeGreaterThanOrEqual(2);
    expect(nodesAtKill).toBeLessThan(cluster.nodes.length);
  });

  it("every agent completes after the restart", () => {
    expect(exits.map((e, i) => ({ node: cluster.nodes[i]!.name, code: e.code, err: e.code ? e.stderr.slice(-400) : "" })).filter((e) => e.code !== 0)).toEqual([]);
    // Agents that tried while it was down said so and kept going.
    expect(exits.some((e) => e.stderr.includes("join attempt failed; retrying"))).toBe(true);
  });

  it("no node or token record is lost or duplicated", async () => {
    const files = (await readdir(join(cluster.stateDir, "nodes"))).filter((f) => f.endsWith(".json")).sort();
    expect(files).toEqual(cluster.nodes.map((n) => `${n.name}.json`).sort());
    const tokens = await cluster.tokens();
    for (const g of groups) {
      const t = tokens.find((x) => x.roles.join() === g.roles.join())!;
      expect(t.usedBy.length).toBe(new Set(t.usedBy).size);
      expect(t.usedBy.sort()).toEqual(cluster.nodes.filter((n) => n.group === g.name).map((n) => n.name).sort());
    }
    const records = await Promise.all(files.map(async (f) => JSON.parse(await readFile(join(cluster.stateDir, "nodes", f), "utf8")) as { podCidr: string; certificateSerial: string }));
    expect(new Set(records.map((r) => r.podCidr)).size).toBe(cluster.nodes.length);
    expect(new Set(records.map((r) => r.certificateSerial)).size).toBe(cluster.nodes.length);
  });

  it("every node's timeline is complete, including events sent around the crash", async () => {
    const status = await cluster.status();
    for (const n of status.nodes) {
      expect(n.phase).toBe("converged");
      const names = n.timeline.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["bootstrap", "join", "step:kubelet/service"]));
    }
  });
});
