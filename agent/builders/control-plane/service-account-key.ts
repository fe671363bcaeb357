import type { NodeManifest } from "../../../shared/node-manifest.js";
import type { StepInput } from "../../../shared/steps.js";
import { CA_PATHS } from "../certificates.js";
import { CONTROL_PLANE_PATHS } from "./layout.js";

export const SERVICE_ACCOUNT_KEY_STEP = "control-plane/service-account-key";

/**
 * The key that signs service-account tokens, generated on this master and kept there.
 *
 * No step kind generates a bare key pair, and a `command` step running openssl cannot run in an
 * offline rootfs (the dry run, image builds). The `certificate` kind already does the part that
 * matters — an RSA key made on the node, mode 0600, kept across renewals, checked every run —
 * so this is a certificate step whose key is the signing key (`sa.key`) and whose certificate
 * (`sa.crt`) only carries the public key the API server verifies tokens with (it accepts x509
 * certificates in `--service-account-key-file`). The certificate needs *some* profile; it uses
 * the least privileged one a master may request, `kube-proxy`, so the extra certificate grants
 * nothing beyond what kube-proxy's own does. A dedicated profile or a key-pair step kind would be
 * cleaner.
 */
export function serviceAccountKeyStep(m: NodeManifest): StepInput {
  const caFile = m.files.some((f) => f.path === CA_PATHS.cluster) ? [`files${CA_PATHS.cluster}`] : [];
  return {
    id: SERVICE_ACCOUNT_KEY_STEP,
    kind: "certificate",
    description: "service-account token signing key (generated on this master)",
    profile: "kube-proxy",
    keyPath: CONTROL_PLANE_PATHS.serviceAccountKey,
    certPath: CONTROL_PLANE_PATHS.serviceAccountCert,
    caPath: CA_PATHS.cluster,
    dependsOn: [...caFile, "dirs/kubernetes-pki"],
  };
}
