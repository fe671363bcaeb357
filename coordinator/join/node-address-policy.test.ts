import { describe, expect, it } from "vitest";
import { ClusterSpec } from "../../shared/cluster-spec.js";
import { checkNodeAddresses } from "./node-address-policy.js";

describe("node address policy: the coordinator's address", () => {
  const cloud = ClusterSpec.parse({ name: "lab", provider: { type: "gcp", project: "p", region: "r", zone: "z", image: "i" } });
  const local = ClusterSpec.parse({ name: "lab" });
  // On a cloud the master's fixed address is .10 of the node network, and the coordinator runs there.
  const coordinator = new Set(["10.240.0.10"]);

  it("lets a cloud's master claim the address of the coordinator it hosts, and no other node", () => {
    expect(() => checkNodeAddresses(cloud, coordinator, ["10.240.0.10"], "master-1")).not.toThrow();
    expect(() => checkNodeAddresses(cloud, coordinator, ["10.240.0.10"], "service-1")).toThrow(/address 10.240.0.10 belongs to the coordinator/);
    expect(() => checkNodeAddresses(cloud, coordinator, ["10.240.0.10"])).toThrow(/belongs to the coordinator/);
  });

  it("keeps the coordinator's address off every node elsewhere", () => {
    expect(() => checkNodeAddresses(local, coordinator, ["10.240.0.10"], "master-1")).toThrow(/belongs to the coordinator/);
  });
});
