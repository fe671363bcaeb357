import { METRICS_SERVICE } from "../../../shared/cert-profiles.js";
import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CA_PATHS } from "../certificates.js";
import { groupRole, MANAGED_BY_SPROUT } from "./rbac-objects.js";

/**
 * metrics.k8s.io through the aggregator, as metrics-server's own manifests set it up:
 * - the masters' metrics servers (group sprout:metrics) read Nodes and Pods, the kubelets'
 *   stats, and ask SubjectAccessReviews for the users the aggregator forwards; they keep their
 *   own addresses in the Endpoints of `sprout-metrics`, a Service without selector;
 * - the APIService trusts the cluster CA, which issued the servers' certificates;
 * - `system:aggregated-metrics-reader` adds metrics to the view, edit and admin roles, so
 *   whoever may see a namespace's pods may also `kubectl top` them.
 */
export function renderMetricsObjects(m: NodeManifest): object[] {
  const ca = m.files.find((f) => f.path === CA_PATHS.cluster)?.content;
  if (!ca) return [];
  const { namespace, name } = METRICS_SERVICE;
  return [
    ...groupRole("sprout:metrics", [
      { apiGroups: [""], resources: ["nodes", "pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["nodes/stats"], verbs: ["get"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ]),
    // The Endpoints only, in kube-system only: create cannot be limited to one name, update can.
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "sprout:metrics", namespace, labels: MANAGED_BY_SPROUT }, rules: [{ apiGroups: [""], resources: ["endpoints"], verbs: ["create"] }, { apiGroups: [""], resources: ["endpoints"], resourceNames: [name], verbs: ["get", "update"] }] },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "sprout:metrics", namespace, labels: MANAGED_BY_SPROUT },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "sprout:metrics" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "sprout:metrics" }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "system:aggregated-metrics-reader", labels: { ...MANAGED_BY_SPROUT, "rbac.authorization.k8s.io/aggregate-to-view": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true", "rbac.authorization.k8s.io/aggregate-to-admin": "true" } },
      rules: [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: { ...MANAGED_BY_SPROUT, "k8s-app": "sprout-metrics" } },
      spec: { ports: [{ name: "https", port: METRICS_SERVICE.port, protocol: "TCP", targetPort: METRICS_SERVICE.targetPort }] },
    },
    {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: "v1beta1.metrics.k8s.io", labels: MANAGED_BY_SPROUT },
      spec: { group: "metrics.k8s.io", version: "v1beta1", service: { name, namespace, port: METRICS_SERVICE.port }, caBundle: Buffer.from(ca).toString("base64"), groupPriorityMinimum: 100, versionPriority: 100 },
    },
  ];
}
