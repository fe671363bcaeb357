import { describe, expect, it } from "vitest";
import type { NodeManifest } from "../../shared/node-manifest.js";
import { Step, type StepOf } from "../../shared/steps.js";
import { parseWith } from "../../shared/validate.js";
import { nodeRolesSteps } from "./node-roles.js";
import { parseExecStart } from "./systemd-unit.js";

/** The builder reads the roles, the API server endpoint and the Kubernetes version. */
const manifest = (roles: string[], version: string, endpoint: string | undefined = "https://10.0.0.10:6443") =>
  ({ cluster: { apiServerEndpoint: endpoint, kubernetesVersion: version }, node: { roles, addresses: ["10.0.0.10"] }, files: [] }) as unknown as NodeManifest;
const unitOf = (m: NodeManifest) => parseWith(Step, nodeRolesSteps(m)[0], "step") as StepOf<"systemdUnit">;

describe("node-roles builder", () => {
  it("runs the labeller on masters with their own identity, the master label by minor", () => {
    const old = unitOf(manifest(["master", "edge"], "1.20.2"));
    expect(old).toMatchObject({ id: "node-roles/controller", name: "sprout-node-roles.service", dependsOn: ["certs/node-roles"], restartOnChangeOf: ["certs/node-roles"] });
    expect(parseExecStart(old.content!)).toEqual([
      ["/usr/local/bin/sprout-agent", "node-roles", "--server", "https://10.0.0.10:6443", "--ca", "/etc/kubernetes/pki/ca.crt", "--cert", "/etc/kubernetes/pki/node-roles.crt", "--key", "/etc/kubernetes/pki/node-roles.key", "--master-label", "node-role.kubernetes.io/master"],
    ]);
    expect(parseExecStart(unitOf(manifest(["master"], "1.30.4")).content!)[0]).toContain("node-role.kubernetes.io/control-plane");
  });

  it("adds nothing on other nodes, or before the API server's address is known", () => {
    expect(nodeRolesSteps(manifest(["service"], "1.20.2"))).toEqual([]);
    expect(nodeRolesSteps(manifest(["master"], "1.20.2", ""))).toEqual([]);
  });
});
