import { describe, expect, it } from "vitest";
import type { NodeManifest } from "../../shared/node-manifest.js";
import { Step, type StepOf } from "../../shared/steps.js";
import { parseWith } from "../../shared/validate.js";
import { metricsSteps } from "./metrics.js";
import { parseExecStart } from "./systemd-unit.js";

const manifest = (roles: string[], endpoint: string | undefined = "https://10.0.0.10:6443") =>
  ({ cluster: { apiServerEndpoint: endpoint, kubernetesVersion: "1.20.2" }, node: { roles, addresses: ["10.0.0.11"] }, files: [{ path: "/etc/kubernetes/pki/front-proxy-ca.crt", content: "x", mode: 0o644 }] }) as unknown as NodeManifest;

describe("metrics builder", () => {
  it("runs the metrics server on masters, at the master's address, trusting only the front proxy", () => {
    const unit = parseWith(Step, metricsSteps(manifest(["master"]))[0], "step") as StepOf<"systemdUnit">;
    expect(unit).toMatchObject({ id: "metrics/server", name: "sprout-metrics.service", dependsOn: ["certs/metrics-server", "files/etc/kubernetes/pki/front-proxy-ca.crt"] });
    expect(parseExecStart(unit.content!)).toEqual([
      ["/usr/local/bin/sprout-agent", "metrics", "--server", "https://10.0.0.10:6443", "--ca", "/etc/kubernetes/pki/ca.crt", "--cert", "/etc/kubernetes/pki/metrics-server.crt", "--key", "/etc/kubernetes/pki/metrics-server.key", "--address", "10.0.0.11", "--front-proxy-ca", "/etc/kubernetes/pki/front-proxy-ca.crt"],
    ]);
  });

  it("adds nothing on other nodes, or before the API server's address is known", () => {
    expect(metricsSteps(manifest(["service", "edge"]))).toEqual([]);
    expect(metricsSteps(manifest(["master"], ""))).toEqual([]);
  });
});
