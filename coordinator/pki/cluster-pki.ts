import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { COORDINATOR_COMMON_NAME, caPinOfCertificate } from "../../shared/ca-pin.js";
import { issueCertificate } from "./certificate.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { generateRsaKeyPair } from "./keys.js";
import type { KeyPairPem } from "./keys.js";
import { loadOrCreateCaFiles, loadOrCreateKeyPairFiles } from "./pki-files.js";

/**
 * The cluster's PKI, created once per cluster and loaded on every later start. The layout and
 * the CA names follow kubeadm (/etc/kubernetes/pki), so the files can be handed to control-plane
 * components and compared with a kubeadm cluster without translation.
 */

export const PKI_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  etcdCaCert: "etcd/ca.crt",
  etcdCaKey: "etcd/ca.key",
  frontProxyCaCert: "front-proxy-ca.crt",
  frontProxyCaKey: "front-proxy-ca.key",
  serviceAccountKey: "sa.key",
  serviceAccountPublicKey: "sa.pub",
} as const;

export interface ClusterPki {
  dir: string;
  /** The cluster CA (CN "kubernetes"): API server, kubelets, node and admin certificates. */
  ca: CertificateAndKeyPem;
  etcdCa: CertificateAndKeyPem;
  frontProxyCa: CertificateAndKeyPem;
  /** Signs and verifies service-account tokens. */
  serviceAccount: KeyPairPem;
  /** `sha256:<hex>` of the cluster CA's SubjectPublicKeyInfo: what bootstrap files carry. */
  caPin: string;
  /** Same as `ca.certPem`: the bundle agents, kubeconfigs and TLS listeners trust. */
  caCertPem: string;
}

const DIR_MODE = 0o700;
const LEAF_VALIDITY_DAYS = 365;

export async function loadOrCreateClusterPki(dir: string): Promise<ClusterPki> {
  await privateDir(dir);
  await privateDir(join(dir, "etcd"));
  const path = (name: keyof typeof PKI_FILES) => join(dir, PKI_FILES[name]);
  // Independent pairs: their key generations run in parallel on the thread pool.
  const [ca, etcdCa, frontProxyCa, serviceAccount] = await Promise.all([
    loadOrCreateCaFiles(path("caCert"), path("caKey"), "kubernetes"),
    loadOrCreateCaFiles(path("etcdCaCert"), path("etcdCaKey"), "etcd-ca"),
    loadOrCreateCaFiles(path("frontProxyCaCert"), path("frontProxyCaKey"), "front-proxy-ca"),
    loadOrCreateKeyPairFiles(path("serviceAccountKey"), path("serviceAccountPublicKey")),
  ]);
  return { dir, ca, etcdCa, frontProxyCa, serviceAccount, caPin: caPinOfCertificate(ca.certPem), caCertPem: ca.certPem };
}

/**
 * The coordinator's own HTTPS identity, signed by the cluster CA so agents can check it against
 * their caPin. certPem is the leaf followed by the CA certificate: clients pin the CA's key, so
 * the server must send the CA along for them to find it in the chain.
 */
export async function issueServingCertificate(
  pki: ClusterPki,
  names: { dnsNames: string[]; ips: string[]; validityDays?: number },
): Promise<CertificateAndKeyPem> {
  const { keyPem, publicKeyPem } = await generateRsaKeyPair();
  const leaf = issueCertificate({
    issuer: pki.ca,
    subject: { commonName: COORDINATOR_COMMON_NAME },
    publicKeyPem,
    dnsNames: names.dnsNames,
    ips: names.ips,
    usages: ["serverAuth"],
    validityDays: names.validityDays ?? LEAF_VALIDITY_DAYS,
  });
  return { certPem: leaf + pki.ca.certPem, keyPem };
}

/** A client certificate for the admin CLI (e.g. CN "sprout-admin", O "system:masters"). */
export async function issueClientCertificate(
  pki: ClusterPki,
  subject: { commonName: string; organizations: string[]; validityDays?: number },
): Promise<CertificateAndKeyPem> {
  const { keyPem, publicKeyPem } = await generateRsaKeyPair();
  const certPem = issueCertificate({
    issuer: pki.ca,
    subject: { commonName: subject.commonName, organizations: subject.organizations },
    publicKeyPem,
    usages: ["clientAuth"],
    validityDays: subject.validityDays ?? LEAF_VALIDITY_DAYS,
  });
  return { certPem, keyPem };
}

/** mkdir's mode is masked by the umask and ignored for an existing directory, hence the chmod. */
async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
  await chmod(path, DIR_MODE);
}
