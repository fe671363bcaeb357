import { MANAGED_BY_SPROUT } from "../../kube/labels.js";

export { MANAGED_BY_SPROUT };

/** A ClusterRole with its rules, bound to the group of the same name (Sprout's identities carry it as O=). */
export function groupRole(name: string, rules: object[]): object[] {
  return [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name, labels: MANAGED_BY_SPROUT }, rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels: MANAGED_BY_SPROUT },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name }],
    },
  ];
}
