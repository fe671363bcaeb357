import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CONTROL_PLANE_PATHS, type ControlPlaneLayout } from "./layout.js";
import { APISERVER_UNIT } from "./kube-apiserver.js";
import { renderLocalKubeconfig } from "./kubeconfig.js";
import { flags, renderUnit } from "../systemd-unit.js";
import { controlPlaneFlavour } from "./versions.js";

export const SCHEDULER_UNIT = "kube-scheduler.service";

export function renderSchedulerKubeconfig(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderLocalKubeconfig(m, l, "system:kube-scheduler", "kube-scheduler");
}

export function schedulerArgs(m: NodeManifest, l: ControlPlaneLayout): string[] {
  const kubeconfig = l.file(CONTROL_PLANE_PATHS.schedulerKubeconfig);
  return [
    l.binary("kube-scheduler"),
    ...flags({
      kubeconfig,
      "authentication-kubeconfig": kubeconfig,
      "authorization-kubeconfig": kubeconfig,
      "bind-address": "127.0.0.1",
      "secure-port": l.ports.scheduler,
      port: controlPlaneFlavour(m.cluster.kubernetesVersion).disableInsecurePort ? 0 : undefined,
      "leader-elect": true,
    }),
  ];
}

export function renderSchedulerUnit(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderUnit({
    description: "Kubernetes scheduler (configured by Sprout)",
    after: [APISERVER_UNIT],
    service: [
      ["Restart", "always"],
      ["RestartSec", "2"],
    ],
    execStart: [schedulerArgs(m, l)],
    wantedBy: "multi-user.target",
  });
}
