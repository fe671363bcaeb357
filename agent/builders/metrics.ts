import { METRICS_SERVICE } from "../../shared/cert-profiles.js";
import type { NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { CA_PATHS } from "./certificates.js";
import { renderControllerUnit } from "./controller-unit.js";

export const METRICS_UNIT = "sprout-metrics.service";

/**
 * On masters: the metrics.k8s.io server (agent/metrics/) behind the API server's aggregator,
 * listening on the master's address at the `sprout-metrics` Service's target port. Its identity
 * serves the aggregator and reads the kubelets and the API (docs/metrics.md).
 */
export function metricsSteps(m: NodeManifest): StepInput[] {
  const endpoint = m.cluster.apiServerEndpoint;
  if (!m.node.roles.includes("master") || !endpoint) return [];
  const unit = renderControllerUnit({
    description: "Sprout metrics: metrics.k8s.io from the kubelets, for kubectl top and autoscaling",
    after: ["network-online.target"],
    command: "metrics",
    endpoint,
    profile: "metrics-server",
    args: ["--address", m.node.addresses[0]!, "--front-proxy-ca", CA_PATHS.frontProxy],
  });
  // Restarted when the front-proxy CA changes: the TLS layer holds it.
  const frontProxyCa = m.files.some((f) => f.path === CA_PATHS.frontProxy) ? [`files${CA_PATHS.frontProxy}`] : [];
  return [
    {
      id: "metrics/server",
      kind: "systemdUnit",
      description: `the metrics.k8s.io server (port ${METRICS_SERVICE.targetPort})`,
      name: METRICS_UNIT,
      content: unit,
      dependsOn: ["certs/metrics-server", ...frontProxyCa],
      restartOnChangeOf: ["certs/metrics-server", ...frontProxyCa],
    },
  ];
}
