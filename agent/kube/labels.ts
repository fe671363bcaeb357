/** The label on every Kubernetes object Sprout creates, so `kubectl get -l` finds them all. */
export const MANAGED_BY_SPROUT = { "app.kubernetes.io/managed-by": "sprout" } as const;
