import { stringify } from "yaml";
import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CONTROL_PLANE_PATHS, type ControlPlaneLayout } from "./layout.js";
import { APISERVER_UNIT } from "./kube-apiserver.js";
import { renderLocalKubeconfig } from "./kubeconfig.js";
import { renderUnit } from "../systemd-unit.js";
import { renderSharedStorageObjects } from "./shared-storage-objects.js";
import { renderMetricsObjects } from "./metrics-objects.js";
import { renderLocalStorageObjects } from "./local-storage-objects.js";
import { groupRole, MANAGED_BY_SPROUT } from "./rbac-objects.js";

/**
 * What the master's agent does against its own API server once it runs: wait until it is ready,
 * then apply the cluster objects Sprout's identities need. Both run as oneshot units that the
 * agent starts (a `systemdUnit` step in state `running`): `systemctl start` of a oneshot returns
 * only when its commands have finished, so the step — and with it the agent's `converged`, and
 * the coordinator's `apiserver-ready` barrier — completes only once the API server answers.
 *
 * Why units and not a `waitFor` + `command` step: an offline rootfs (`sprout up`'s dry run,
 * image builds) refuses `command` steps and would probe the *build machine's* 127.0.0.1:6443
 * for a `tcp` wait until the deadline, so every master plan would fail offline. A unit is
 * written and left disabled offline, and started on a live node.
 */
export const READY_UNIT = "sprout-apiserver-ready.service";
export const RBAC_UNIT = "sprout-bootstrap-rbac.service";
/** Seconds the readiness gate waits; below the step's 300 s deadline so systemd reports the timeout. */
export const READY_TIMEOUT_SECONDS = 270;

export function renderMasterAdminKubeconfig(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderLocalKubeconfig(m, l, "sprout-master-admin", "master-admin");
}

/** `kubectl` as the master's admin identity (CN sprout:master:<node>, O system:masters). */
export function adminKubectl(l: ControlPlaneLayout): string[] {
  return [l.kubectlBinary, `--kubeconfig=${l.file(CONTROL_PLANE_PATHS.masterAdminKubeconfig)}`];
}

/**
 * HTTPS `/readyz` with a client certificate, not just a TCP connect: ready means etcd is
 * reachable and the post-start hooks (bootstrap RBAC roles among them) have run.
 */
export function readinessProbe(l: ControlPlaneLayout): string[] {
  return [...adminKubectl(l), "--request-timeout=5s", "get", "--raw=/readyz"];
}

export function renderReadyUnit(_m: NodeManifest, l: ControlPlaneLayout): string {
  const probe = readinessProbe(l).join(" ");
  return renderUnit({
    description: "Sprout: wait until the local Kubernetes API server is ready",
    after: [APISERVER_UNIT],
    service: [
      ["Type", "oneshot"],
      ["RemainAfterExit", "yes"],
      ["TimeoutStartSec", String(READY_TIMEOUT_SECONDS)],
    ],
    execStart: [["/bin/sh", "-c", `until ${probe} >/dev/null; do sleep 1; done`]],
    // Never enabled (the agent starts it); the section only makes `systemctl is-enabled` say
    // "disabled" rather than "static", which the unit step would read as enabled.
    wantedBy: "multi-user.target",
  });
}

/** The edge's Ingress controller (group sprout:edge) reads Ingresses and Services; `sprout` is the default IngressClass. */
function renderEdgeObjects(): object[] {
  const labels = MANAGED_BY_SPROUT;
  return [
    ...groupRole("sprout:edge", [
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingressclasses"], verbs: ["get", "list", "watch"] },
      // Publishes the edge's address in each Ingress's status, nothing else.
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
      // LoadBalancer Services: the edge addresses in their status, Events when one stays Pending.
      { apiGroups: [""], resources: ["services/status"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      // An Ingress's spec.tls Secrets, fetched by name only: no list, no watch.
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    ]),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "sprout", labels, annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } },
      spec: { controller: "sprout.dev/edge" },
    },
  ];
}

/** The master's node-role labeller (group sprout:node-roles) reads Nodes and patches their labels. */
function renderNodeRolesObjects(): object[] {
  return groupRole("sprout:node-roles", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "patch"] }]);
}

/**
 * Cluster DNS: every node's feeder (group sprout:cluster-dns) reads Services and EndpointSlices;
 * the `kube-dns` Service names the cluster DNS address, as kubeadm's does, for tools that look
 * for it. It selects no pods: each node answers its own pods at that address (cluster-dns.ts).
 */
function renderClusterDnsObjects(m: NodeManifest): object[] {
  const labels = MANAGED_BY_SPROUT;
  return [
    ...groupRole("sprout:cluster-dns", [
      { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    ]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { ...labels, "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true" } },
      spec: {
        clusterIP: m.cluster.dnsServiceIp,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
        ],
      },
    },
  ];
}

/**
 * The cluster objects the master applies: kube-proxy's identity (CN system:kube-proxy) gets the
 * role kubeadm gives it; the shared volume, where the cluster has one, becomes storage.
 */
export function renderBootstrapRbac(m: NodeManifest): string {
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "sprout:kube-proxy", labels: MANAGED_BY_SPROUT },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node-proxier" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:kube-proxy" }],
  };
  const docs = [binding, ...renderEdgeObjects(), ...renderNodeRolesObjects(), ...renderClusterDnsObjects(m), ...renderMetricsObjects(m), ...renderLocalStorageObjects(), ...renderSharedStorageObjects(m)].map((d) => stringify(d)).join("---\n");
  return `# Written by sprout-agent; applied by ${RBAC_UNIT}.\n${docs}`;
}

/** `kubectl apply`: creates what is missing and corrects what drifted, idempotently. */
export function rbacApplyArgs(l: ControlPlaneLayout): string[] {
  return [...adminKubectl(l), "apply", `--filename=${l.file(CONTROL_PLANE_PATHS.bootstrapRbacManifest)}`];
}

export function renderRbacUnit(_m: NodeManifest, l: ControlPlaneLayout): string {
  return renderUnit({
    description: "Sprout: cluster RBAC objects for Sprout's identities",
    after: [READY_UNIT],
    wants: [READY_UNIT],
    service: [
      ["Type", "oneshot"],
      ["RemainAfterExit", "yes"],
      ["TimeoutStartSec", "120"],
    ],
    execStart: [rbacApplyArgs(l)],
    wantedBy: "multi-user.target",
  });
}
