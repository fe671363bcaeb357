import type { NodeManifest } from "../../../shared/node-manifest.js";
import type { StepInput } from "../../../shared/steps.js";
import { CA_PATHS } from "../certificates.js";
import { RBAC_UNIT, READY_UNIT, renderBootstrapRbac, renderMasterAdminKubeconfig, renderRbacUnit, renderReadyUnit } from "./bootstrap.js";
import { ETCD_UNIT, renderEtcdUnit } from "./etcd.js";
import { APISERVER_UNIT, renderApiServerUnit } from "./kube-apiserver.js";
import { CONTROLLER_MANAGER_UNIT, renderControllerManagerKubeconfig, renderControllerManagerUnit } from "./kube-controller-manager.js";
import { SCHEDULER_UNIT, renderSchedulerKubeconfig, renderSchedulerUnit } from "./kube-scheduler.js";
import { CONTROL_PLANE_PATHS, controlPlaneLayout, type LayoutOptions } from "./layout.js";
import { SERVICE_ACCOUNT_KEY_STEP, serviceAccountKeyStep } from "./service-account-key.js";

/** Everything the control plane's steps write, rendered for one layout (the node's, or a test's). */
export interface RenderedControlPlane {
  units: Record<"etcd" | "apiServer" | "controllerManager" | "scheduler" | "ready" | "rbac", { name: string; content: string }>;
  /** Keyed by node path; contents reference paths of the same layout. */
  files: Record<"controllerManagerKubeconfig" | "schedulerKubeconfig" | "masterAdminKubeconfig" | "bootstrapRbac", { path: string; content: string; mode: number }>;
}

export function renderControlPlane(m: NodeManifest, options: LayoutOptions = {}): RenderedControlPlane {
  const l = controlPlaneLayout(m, options);
  const P = CONTROL_PLANE_PATHS;
  return {
    units: {
      etcd: { name: ETCD_UNIT, content: renderEtcdUnit(m, l) },
      apiServer: { name: APISERVER_UNIT, content: renderApiServerUnit(m, l) },
      controllerManager: { name: CONTROLLER_MANAGER_UNIT, content: renderControllerManagerUnit(m, l) },
      scheduler: { name: SCHEDULER_UNIT, content: renderSchedulerUnit(m, l) },
      ready: { name: READY_UNIT, content: renderReadyUnit(m, l) },
      rbac: { name: RBAC_UNIT, content: renderRbacUnit(m, l) },
    },
    files: {
      // Kubeconfigs name key files only, but they are credentials' addresses: 0600 like kubeadm's.
      controllerManagerKubeconfig: { path: P.controllerManagerKubeconfig, content: renderControllerManagerKubeconfig(m, l), mode: 0o600 },
      schedulerKubeconfig: { path: P.schedulerKubeconfig, content: renderSchedulerKubeconfig(m, l), mode: 0o600 },
      masterAdminKubeconfig: { path: P.masterAdminKubeconfig, content: renderMasterAdminKubeconfig(m, l), mode: 0o600 },
      bootstrapRbac: { path: P.bootstrapRbacManifest, content: renderBootstrapRbac(m), mode: 0o644 },
    },
  };
}

/** Step ids, for dependants and tests. */
export const CONTROL_PLANE_STEPS = {
  etcdDataDir: "control-plane/etcd-data-dir",
  etcd: "control-plane/etcd",
  serviceAccountKey: SERVICE_ACCOUNT_KEY_STEP,
  apiServer: "control-plane/kube-apiserver",
  controllerManagerKubeconfig: "control-plane/controller-manager-kubeconfig",
  controllerManager: "control-plane/kube-controller-manager",
  schedulerKubeconfig: "control-plane/scheduler-kubeconfig",
  scheduler: "control-plane/kube-scheduler",
  masterAdminKubeconfig: "control-plane/master-admin-kubeconfig",
  apiServerReady: "control-plane/apiserver-ready",
  bootstrapRbacManifest: "control-plane/bootstrap-rbac-manifest",
  bootstrapRbac: "control-plane/bootstrap-rbac",
} as const;

/**
 * etcd, API server, controller manager and scheduler as systemd units on a master, each started
 * once its certificates (and the CA files they chain to) are in place and restarted when any of
 * them changes; then the readiness gate and the bootstrap RBAC objects. Nothing outside the
 * control plane depends on these steps: the kubelet does not wait for its own API server.
 */
export function controlPlaneSteps(m: NodeManifest): StepInput[] {
  if (!m.node.roles.includes("master")) return [];
  const S = CONTROL_PLANE_STEPS;
  const r = renderControlPlane(m);
  const caFile = (path: string) => (m.files.some((f) => f.path === path) ? [`files${path}`] : []);
  const certs = (...profiles: string[]) => profiles.map((p) => `certs/${p}`);
  const file = (id: string, f: RenderedControlPlane["files"][keyof RenderedControlPlane["files"]], description: string): StepInput => ({
    id,
    kind: "file",
    description,
    path: f.path,
    content: f.content,
    mode: f.mode,
  });
  /** A long-running component: enabled at boot, running, restarted when its inputs change. */
  const service = (id: string, unit: { name: string; content: string }, description: string, inputs: string[], after: string[] = []): StepInput => ({
    id,
    kind: "systemdUnit",
    description,
    name: unit.name,
    content: unit.content,
    enabled: true,
    state: "running",
    dependsOn: [...inputs, ...after],
    restartOnChangeOf: inputs,
  });

  const etcdInputs = [...certs("etcd-server", "etcd-peer"), ...caFile(CA_PATHS.etcd)];
  const apiServerInputs = [
    ...certs("kube-apiserver", "apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client"),
    S.serviceAccountKey,
    ...caFile(CA_PATHS.cluster),
    ...caFile(CA_PATHS.etcd),
    ...caFile(CA_PATHS.frontProxy),
  ];
  const controllerManagerInputs = [S.controllerManagerKubeconfig, ...certs("kube-controller-manager"), S.serviceAccountKey, ...caFile(CA_PATHS.cluster), ...caFile(CA_PATHS.frontProxy)];
  const schedulerInputs = [S.schedulerKubeconfig, ...certs("kube-scheduler"), ...caFile(CA_PATHS.cluster)];

  return [
    { id: S.etcdDataDir, kind: "directory", description: `etcd data directory ${CONTROL_PLANE_PATHS.etcdDataDir}`, path: CONTROL_PLANE_PATHS.etcdDataDir, mode: 0o700 },
    service(S.etcd, r.units.etcd, "etcd running (single member)", etcdInputs, [S.etcdDataDir]),
    serviceAccountKeyStep(m),
    service(S.apiServer, r.units.apiServer, "kube-apiserver running", apiServerInputs, [S.etcd]),
    file(S.controllerManagerKubeconfig, r.files.controllerManagerKubeconfig, "kube-controller-manager kubeconfig"),
    service(S.controllerManager, r.units.controllerManager, "kube-controller-manager running", controllerManagerInputs, [S.apiServer]),
    file(S.schedulerKubeconfig, r.files.schedulerKubeconfig, "kube-scheduler kubeconfig"),
    service(S.scheduler, r.units.scheduler, "kube-scheduler running", schedulerInputs, [S.apiServer]),
    file(S.masterAdminKubeconfig, r.files.masterAdminKubeconfig, "master admin kubeconfig (bootstrap objects)"),
    {
      // The agent reports `converged` only after this: the `apiserver-ready` barrier then
      // really means an API server answers. Only the RBAC step below depends on it.
      id: S.apiServerReady,
      kind: "systemdUnit",
      description: "wait until the API server answers /readyz",
      name: r.units.ready.name,
      content: r.units.ready.content,
      enabled: false,
      state: "running",
      dependsOn: [S.apiServer, S.masterAdminKubeconfig, ...certs("master-admin"), ...caFile(CA_PATHS.cluster)],
      // A restarted API server is checked again.
      restartOnChangeOf: [S.apiServer],
    },
    file(S.bootstrapRbacManifest, r.files.bootstrapRbac, "cluster objects (kube-proxy's ClusterRoleBinding, shared storage)"),
    {
      id: S.bootstrapRbac,
      kind: "systemdUnit",
      description: "bootstrap RBAC objects applied",
      name: r.units.rbac.name,
      content: r.units.rbac.content,
      enabled: false,
      state: "running",
      dependsOn: [S.apiServerReady, S.bootstrapRbacManifest],
      restartOnChangeOf: [S.bootstrapRbacManifest],
    },
  ];
}
