import type { NodeManifest } from "../../shared/node-manifest.js";
import { Step } from "../../shared/steps.js";
import { parseWith } from "../../shared/validate.js";
import { nodeFileSteps } from "./node-files.js";
import { kernelSteps } from "./kernel.js";
import { containerdSteps } from "./containerd.js";
import { kubeletSteps } from "./kubelet.js";
import { certificateSteps } from "./certificates.js";
import { offlineImageSteps } from "./offline-images.js";
import { podNetworkSteps } from "./pod-network.js";
import { kubeProxySteps } from "./kube-proxy.js";
import { controlPlaneSteps } from "./control-plane/index.js";
import { storageSteps } from "./storage.js";
import { edgeSteps } from "./edge.js";
import { agentProxySteps } from "./egress-proxy.js";
import { nodeRolesSteps } from "./node-roles.js";
import { clusterDnsSteps } from "./cluster-dns.js";
import { metricsSteps } from "./metrics.js";
import { localStorageSteps } from "./local-storage.js";
import { sharedStorageSteps } from "./shared-storage.js";

/**
 * All builders, in no particular order: ordering comes from `dependsOn`, and the executor runs
 * whatever is ready. Later roles (control plane, CNI, storage, edge) add builders here.
 */
const BUILDERS: ((m: NodeManifest) => unknown[])[] = [nodeFileSteps, kernelSteps, certificateSteps, containerdSteps, offlineImageSteps, podNetworkSteps, kubeletSteps, kubeProxySteps, controlPlaneSteps, storageSteps, edgeSteps, agentProxySteps, nodeRolesSteps, clusterDnsSteps, metricsSteps, localStorageSteps, sharedStorageSteps];

export function buildSteps(manifest: NodeManifest): Step[] {
  return BUILDERS.flatMap((b) => b(manifest)).map((s, i) => parseWith(Step, s, `step ${i} built from manifest revision ${manifest.revision}`));
}
