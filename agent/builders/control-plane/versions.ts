import { minorOf } from "../../../shared/versions.js";

/**
 * Where the control plane's command lines differ between the Kubernetes minors Sprout renders
 * for (1.20 from Debian's source package locally; 1.30+ on cloud images).
 *
 * - kube-controller-manager and kube-scheduler up to 1.23 also serve plain, unauthenticated HTTP
 *   (10252/10251) unless `--port=0`; the flag is gone since 1.24, so passing it there would stop
 *   the component from starting.
 * - kube-apiserver 1.20 has no insecure port left (`--insecure-port` may only be 0 and is hidden),
 *   so nothing differs there. 1.20 is also the first minor that *requires*
 *   `--service-account-issuer` and `--service-account-signing-key-file`; both minors get them.
 */
export interface ControlPlaneFlavour {
  minor: string;
  /** Pass `--port=0` to kube-controller-manager and kube-scheduler. */
  disableInsecurePort: boolean;
}

export function controlPlaneFlavour(kubernetesVersion: string): ControlPlaneFlavour {
  const minor = minorOf(kubernetesVersion);
  const [major, n] = minor.split(".").map(Number) as [number, number];
  return { minor, disableInsecurePort: major === 1 && n < 24 };
}
