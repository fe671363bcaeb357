import { CERT_PROFILES, type CertProfileName, type ProfileCluster, type ProfileNode } from "../../shared/cert-profiles.js";
import { ApiError } from "../../shared/errors.js";
import type { NodeRole } from "../../shared/roles.js";
import { issueCertificate } from "./certificate.js";
import type { ClusterPki } from "./cluster-pki.js";
import { CsrRejected, provenPublicKeyPem } from "./node-csr.js";

/**
 * Signs a profile certificate for a joined node. Only the CSR's key is taken from the request;
 * subject, SANs, usages and issuer come from the profile, and the node's roles must allow it.
 */
export function signProfileCertificate(
  pki: ClusterPki,
  request: { profile: CertProfileName; csr: string },
  node: ProfileNode & { roles: NodeRole[] },
  cluster: ProfileCluster,
  validityDays = 365,
): { certificate: string; caCertificate: string } {
  const profile = CERT_PROFILES[request.profile];
  if (!profile.roles.some((r) => node.roles.includes(r))) {
    throw new ApiError(403, "profile_forbidden", `node ${node.name} (${node.roles.join(", ")}) may not request a ${request.profile} certificate (needs role ${profile.roles.join(" or ")})`);
  }
  let publicKeyPem: string;
  try {
    publicKeyPem = provenPublicKeyPem(request.csr);
  } catch (err) {
    if (err instanceof CsrRejected) throw new ApiError(400, err.code, err.message);
    throw err;
  }
  const issuer = { cluster: pki.ca, etcd: pki.etcdCa, "front-proxy": pki.frontProxyCa }[profile.ca];
  const certificate = issueCertificate({
    issuer,
    subject: profile.subject(node),
    publicKeyPem,
    ...profile.sans(node, cluster),
    usages: profile.usages,
    validityDays,
  });
  return { certificate, caCertificate: issuer.certPem };
}
