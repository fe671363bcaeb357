import type { NodeManifest } from "../../../shared/node-manifest.js";
import { CONTROL_PLANE_PATHS, type ControlPlaneLayout } from "./layout.js";
import { flags, renderUnit } from "../systemd-unit.js";

/** The unit replaces Debian's `etcd.service` (same name, higher-precedence directory). */
export const ETCD_UNIT = "etcd.service";

/**
 * etcd as a single-member cluster named after the node: clients on loopback and the node
 * address, peers on the node address, mutual TLS on both with the etcd CA.
 */
export function etcdArgs(m: NodeManifest, l: ControlPlaneLayout): string[] {
  const { etcdClient, etcdPeer, etcdMetrics } = l.ports;
  const ip = l.nodeIp;
  const server = l.cert("etcd-server");
  const peer = l.cert("etcd-peer");
  const peerUrl = `https://${ip}:${etcdPeer}`;
  // A node whose address is loopback (the smoke test) must not listen twice on one socket.
  const clientUrls = [...new Set([`https://127.0.0.1:${etcdClient}`, `https://${ip}:${etcdClient}`])];
  return [
    l.etcdBinary,
    ...flags({
      name: m.node.name,
      "data-dir": l.file(CONTROL_PLANE_PATHS.etcdDataDir),
      "listen-client-urls": clientUrls.join(","),
      "advertise-client-urls": `https://${ip}:${etcdClient}`,
      "listen-peer-urls": peerUrl,
      "initial-advertise-peer-urls": peerUrl,
      "initial-cluster": `${m.node.name}=${peerUrl}`,
      "initial-cluster-state": "new",
      "initial-cluster-token": m.cluster.name,
      "listen-metrics-urls": `http://127.0.0.1:${etcdMetrics}`,
      "cert-file": server.certPath,
      "key-file": server.keyPath,
      "client-cert-auth": true,
      "trusted-ca-file": l.ca.etcd,
      "peer-cert-file": peer.certPath,
      "peer-key-file": peer.keyPath,
      "peer-client-cert-auth": true,
      "peer-trusted-ca-file": l.ca.etcd,
      "snapshot-count": 10000,
      logger: "zap",
    }),
  ];
}

export function renderEtcdUnit(m: NodeManifest, l: ControlPlaneLayout): string {
  return renderUnit({
    description: "etcd for the Kubernetes control plane (configured by Sprout)",
    after: ["network-online.target"],
    wants: ["network-online.target"],
    service: [
      // etcd tells systemd when it serves, so `systemctl start` returns with etcd ready.
      ["Type", "notify"],
      ["Restart", "always"],
      ["RestartSec", "2"],
      ["LimitNOFILE", "65536"],
    ],
    execStart: [etcdArgs(m, l)],
    wantedBy: "multi-user.target",
  });
}
