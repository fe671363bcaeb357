import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CONTROL_PLANE_PATHS, type ControlPlaneLayout } from "./layout.js";
import { ETCD_UNIT } from "./etcd.js";
import { flags, renderUnit } from "../systemd-unit.js";

export const APISERVER_UNIT = "kube-apiserver.service";

/** kubeadm's issuer: the in-cluster name of the API server. */
export function serviceAccountIssuer(m: NodeManifest): string {
  return `https://kubernetes.default.svc.${m.cluster.clusterDomain}`;
}

/**
 * The API server on this master: etcd on loopback, kubeadm's certificate layout, Node+RBAC
 * authorization, and the service-account key pair generated on this node.
 */
export function apiServerArgs(m: NodeManifest, l: ControlPlaneLayout): string[] {
  const serving = l.cert("kube-apiserver");
  const etcdClient = l.cert("apiserver-etcd-client");
  const kubeletClient = l.cert("apiserver-kubelet-client");
  const frontProxy = l.cert("front-proxy-client");
  return [
    l.binary("kube-apiserver"),
    ...flags({
      "advertise-address": l.nodeIp,
      "bind-address": l.apiServerBindAddress,
      "secure-port": l.ports.apiServer,
      "allow-privileged": true,
      "authorization-mode": "Node,RBAC",
      "enable-admission-plugins": "NodeRestriction",
      "client-ca-file": l.ca.cluster,
      "tls-cert-file": serving.certPath,
      "tls-private-key-file": serving.keyPath,
      "etcd-servers": `https://127.0.0.1:${l.ports.etcdClient}`,
      "etcd-cafile": l.ca.etcd,
      "etcd-certfile": etcdClient.certPath,
      "etcd-keyfile": etcdClient.keyPath,
      "kubelet-client-certificate": kubeletClient.certPath,
      "kubelet-client-key": kubeletClient.keyPath,
      // Kubelets serve with their coordinator-issued node certificate (serverAuth, node IPs as
      // SANs), so the API server can verify them instead of trusting any certificate.
      "kubelet-certificate-authority": l.ca.cluster,
      "kubelet-preferred-address-types": "InternalIP",
      "service-cluster-ip-range": m.cluster.serviceCidr,
      // Verification takes the public key from the certificate; signing needs the private key.
      "service-account-key-file": l.file(CONTROL_PLANE_PATHS.serviceAccountCert),
      "service-account-signing-key-file": l.file(CONTROL_PLANE_PATHS.serviceAccountKey),
      "service-account-issuer": serviceAccountIssuer(m),
      "requestheader-client-ca-file": l.ca.frontProxy,
      "requestheader-allowed-names": "front-proxy-client",
      "requestheader-username-headers": "X-Remote-User",
      "requestheader-group-headers": "X-Remote-Group",
      "requestheader-extra-headers-prefix": "X-Remote-Extra-",
      "proxy-client-cert-file": frontProxy.certPath,
      "proxy-client-key-file": frontProxy.keyPath,
      // Aggregated APIs (metrics.k8s.io) are reached at their Endpoints' addresses, not through
      // the Service's ClusterIP: that would depend on kube-proxy on this master.
      "enable-aggregator-routing": true,
    }),
  ];
}

export function renderApiServerUnit(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderUnit({
    description: "Kubernetes API server (configured by Sprout)",
    after: ["network-online.target", ETCD_UNIT],
    wants: ["network-online.target", ETCD_UNIT],
    service: [
      ["Restart", "always"],
      ["RestartSec", "2"],
      ["LimitNOFILE", "65536"],
    ],
    execStart: [apiServerArgs(m, l)],
    wantedBy: "multi-user.target",
  });
}
