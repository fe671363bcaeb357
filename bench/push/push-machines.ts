import { join } from "node:path";
import { ed25519KeyPair, publicBlob } from "../../coordinator/providers/ssh/host-keys.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { planNodes, type PlannedNode } from "../../coordinator/providers/local/node-plan.js";
import { createNodeNetwork, type NodeNetwork } from "../../coordinator/providers/local/node-network.js";
import { cleanupCluster, startMachine, type NodeMachine } from "../../coordinator/providers/local/node-machine.js";
import { storageDisksFor } from "../../coordinator/providers/local/machine-disks.js";

/**
 * The push baseline's machines: the same image and topology as `sprout up`, but booted as a cloud
 * boots VMs for Ansible — sshd running with a host key made for this machine (pinned by the
 * workstation, so no trust on first use), the workstation's key in root's authorized_keys, and
 * no agent: nothing on the node acts by itself.
 */
export interface PushHost extends PlannedNode {
  address: string;
  /** The host key's public blob: the workstation accepts only this key. */
  hostKey: Buffer;
  machine: NodeMachine;
}

export interface PushMachines {
  hosts: PushHost[];
  network: NodeNetwork;
  /** The workstation's private key (OpenSSH format), authorized on every host. */
  clientKey: string;
  destroy(): Promise<void>;
}

/** `keepAgent`: leave an agent the image may have alone (the ssh provider's hosts get theirs over SSH). */
export async function bootPushMachines(spec: ClusterSpec, o: { imageRoot: string; stateDir: string; keepAgent?: boolean }): Promise<PushMachines> {
  const nodes = planNodes(spec);
  const client = ed25519KeyPair();
  const network = await createNodeNetwork(spec.name, spec.networks.nodeCidr, nodes.map((n) => n.name));
  const destroy = async () => {
    await cleanupCluster(spec.name);
    await network.destroy();
  };
  try {
    // allSettled: when one machine fails to start, the others have finished starting before
    // everything is removed, so none is left behind.
    const started = await Promise.allSettled(
      nodes.map(async (node, i): Promise<PushHost> => {
        const hostKey = ed25519KeyPair();
        const machine = await startMachine({
          cluster: spec.name,
          node: node.name,
          imageRoot: o.imageRoot,
          stateDir: join(o.stateDir, node.name),
          netns: network.nodes[i]!.netns,
          address: network.nodes[i]!.address,
          disks: node.roles.includes("storage") ? storageDisksFor(spec) : [],
          files: [
            ...sshdFiles({ hostKey, authorizedKey: client.public }),
            ...(o.keepAgent
              ? []
              : [{ path: "/etc/systemd/system/sprout-agent.service.d/push-baseline.conf", content: "[Unit]\n# The push baseline configures this node from a workstation.\nConditionPathExists=/nonexistent\n", mode: 0o644 }]),
          ],
        });
        return { ...node, address: network.nodes[i]!.address, hostKey: publicBlob(hostKey.public), machine };
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const hosts = started.map((r) => (r as PromiseFulfilledResult<PushHost>).value);
    return { hosts, network, clientKey: client.private, destroy };
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
}

/**
 * Files that make a machine booted from the node image answer SSH: sshd started at boot (the image
 * leaves it off, as `systemctl enable` would), root's authorized key, and — when given — the
 * host key the client pins (else sshd makes its own at first start).
 */
export function sshdFiles(o: { hostKey?: { private: string; public: string }; authorizedKey: string }): { path: string; content: string; mode: number }[] {
  return [
    ...(o.hostKey
      ? [
          { path: "/etc/ssh/ssh_host_ed25519_key", content: o.hostKey.private, mode: 0o600 },
          { path: "/etc/ssh/ssh_host_ed25519_key.pub", content: `${o.hostKey.public}\n`, mode: 0o644 },
        ]
      : []),
    { path: "/root/.ssh/authorized_keys", content: `${o.authorizedKey}\n`, mode: 0o600 },
    { path: "/etc/systemd/system/multi-user.target.d/ssh.conf", content: "[Unit]\nWants=ssh.service\n", mode: 0o644 },
  ];
}
