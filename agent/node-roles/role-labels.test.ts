import { describe, expect, it } from "vitest";
import { roleLabelPatch } from "./role-labels.js";

const CP = "node-role.kubernetes.io/control-plane";
const MASTER = "node-role.kubernetes.io/master";

describe("roleLabelPatch", () => {
  it("adds a role label for every Sprout role, the master's by the cluster's minor", () => {
    const labels = { "sprout.dev/role-master": "", "sprout.dev/role-edge": "", "kubernetes.io/hostname": "master-1" };
    expect(roleLabelPatch(labels, CP)).toEqual({ [CP]: "", "node-role.kubernetes.io/edge": "" });
    expect(roleLabelPatch(labels, MASTER)).toEqual({ [MASTER]: "", "node-role.kubernetes.io/edge": "" });
  });

  it("changes nothing when the labels are right", () => {
    expect(roleLabelPatch({ "sprout.dev/role-service": "", "node-role.kubernetes.io/service": "" }, CP)).toBeUndefined();
  });

  it("removes the role labels Sprout set that the node's roles no longer ask for, and keeps a user's own", () => {
    const labels = { "sprout.dev/role-service": "", "node-role.kubernetes.io/service": "", "node-role.kubernetes.io/storage": "", [MASTER]: "", "node-role.kubernetes.io/gpu": "" };
    expect(roleLabelPatch(labels, CP)).toEqual({ "node-role.kubernetes.io/storage": null, [MASTER]: null });
  });

  it("leaves a node that Sprout did not register alone", () => {
    expect(roleLabelPatch({ "kubernetes.io/hostname": "other", [MASTER]: "" }, CP)).toBeUndefined();
  });
});
