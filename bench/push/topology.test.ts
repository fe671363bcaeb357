import { describe, expect, it } from "vitest";
import { kubenowTopology, topologySpec } from "./topology.js";

describe("kubenowTopology", () => {
  it("splits the workers 5:3 between service and storage, with replica sets of 3 where they fit", () => {
    expect(kubenowTopology(8)).toEqual({ nodes: 8, service: 4, storage: 3, replication: 3 });
    expect(kubenowTopology(16)).toEqual({ nodes: 16, service: 9, storage: 6, replication: 3 });
    expect(kubenowTopology(64)).toEqual({ nodes: 64, service: 39, storage: 24, replication: 3 });
    for (const n of [3, 5, 8, 16, 32, 64, 128, 1024]) {
      const t = kubenowTopology(n);
      expect(1 + t.service + t.storage).toBe(n);
      expect(t.storage % t.replication).toBe(0);
    }
  });

  it("refuses a cluster too small for the three roles", () => {
    expect(() => kubenowTopology(2)).toThrow(/at least 3/);
  });

  it("renders a spec sprout accepts, with the master as edge", () => {
    const { spec, yaml } = topologySpec("bench8", kubenowTopology(8), { nodeCidr: "10.250.8.0/24", coordinatorPort: 7601 });
    expect(spec.nodeGroups.map((g) => [g.name, g.count])).toEqual([["master", 1], ["service", 4], ["storage", 3]]);
    expect(spec.nodeGroups[0]!.roles).toEqual(["master", "edge"]);
    expect(yaml).toContain("replication: 3");
  });
});
