import { stringify } from "yaml";
import { NODE_PATHS } from "../../../shared/node-manifest.js";
import { USER_DATA_LIMIT } from "../../../shared/cloud-provider.js";
import { UserError } from "../../../shared/errors.js";
import type { CloudNode, CloudPlan } from "./cloud-plan.js";
import { UNSEALED_MARKER } from "./sealed-state.js";

/**
 * cloud-init user-data per VM. Every node gets its bootstrap file (coordinator URL on the
 * master's fixed private address, its join token, the CA pin), written 0600 before the image's
 * agent unit looks for it. The master also gets the sealed coordinator state and a unit that
 * runs the coordinator from it once `sprout up` has handed over the key over SSH.
 */
export const MASTER_PATHS = {
  sealedState: "/var/lib/sprout/coordinator-state.sealed",
  stateKey: "/run/sprout/coordinator-state.key",
  deployment: "/var/lib/sprout/cluster",
  unit: "/etc/systemd/system/sprout-coordinator.service",
};

export interface NodeSecrets {
  token: string;
  caPin: string;
}

/** What only the master's user-data carries. */
export interface MasterExtras {
  sealedState: string;
  /**
   * Its SSH host key (ed25519, OpenSSH format), made by the CLI, which pins the public half: the
   * CLI's first SSH connection to a new VM is verified like every other, no trust on first use.
   */
  hostKey: { private: string; public: string };
}

export function renderUserData(plan: CloudPlan, node: CloudNode, secrets: NodeSecrets, master?: MasterExtras): string {
  const bootstrap = stringify({ apiVersion: "sprout.dev/v1alpha1", kind: "Bootstrap", coordinators: [plan.coordinatorUrl], token: secrets.token, caPin: secrets.caPin, nodeName: node.name, roles: node.roles, addresses: [node.privateIp] });
  const files: Record<string, unknown>[] = [{ path: NODE_PATHS.bootstrap, owner: "root:root", permissions: "0600", content: bootstrap }];
  const runcmd: string[][] = [];
  const isMaster = node.name === plan.master.name;
  let hostKeys: Record<string, unknown> = {};
  if (isMaster) {
    if (master === undefined) throw new Error("the master's user-data needs the sealed coordinator state and its host key");
    hostKeys = { ssh_keys: { ed25519_private: master.hostKey.private, ed25519_public: master.hostKey.public }, ssh_genkeytypes: [] };
    files.push(
      // Base64 text as it is (no cloud-init `encoding`): `sprout serve --sealed` reads the text.
      { path: MASTER_PATHS.sealedState, owner: "root:root", permissions: "0600", content: master.sealedState },
      { path: MASTER_PATHS.unit, owner: "root:root", permissions: "0644", content: coordinatorUnit(plan) },
    );
    runcmd.push(["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "--no-block", "sprout-coordinator.service"]);
  }
  // The agent unit checks for the bootstrap file when it starts; if it looked before cloud-init
  // wrote it, this starts it now (a no-op when it is already running).
  runcmd.push(["systemctl", "start", "--no-block", "sprout-agent.service"]);
  const doc = {
    // Every VM is new: its own hostname (the node name), no password logins.
    hostname: node.name,
    preserve_hostname: false,
    ssh_pwauth: false,
    ...hostKeys,
    write_files: files,
    runcmd,
  };
  return `#cloud-config\n# Sprout ${plan.cluster}: node ${node.name} (${node.roles.join(", ")}). Holds a join token: keep it private.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** The coordinator on the master: waits for the state key, unseals the state once, serves on the node network. */
function coordinatorUnit(plan: CloudPlan): string {
  const cli = "/usr/local/bin/sprout";
  return [
    "[Unit]",
    "Description=Sprout coordinator (the cluster's join and manifest service)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    // `sprout up` copies the key over SSH; until then there is nothing to serve.
    // Only before the first start: once unsealed, the state is on disk and the key (in /run,
    // gone after a reboot) is no longer needed.
    `ExecStartPre=/bin/sh -c 'while [ ! -s ${MASTER_PATHS.stateKey} ] && [ ! -e ${MASTER_PATHS.deployment}/${UNSEALED_MARKER} ]; do sleep 1; done'`,
    `ExecStart=${cli} serve ${MASTER_PATHS.deployment} --sealed ${MASTER_PATHS.sealedState} --key-file ${MASTER_PATHS.stateKey} --listen ${plan.master.privateIp}:${plan.coordinatorPort} --advertise ${plan.master.privateIp}`,
    "Restart=on-failure",
    "RestartSec=2",
    "TimeoutStartSec=infinity",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** Refuses user-data the cloud would reject, naming the node, the size and the limit. */
export function checkUserDataSize(plan: CloudPlan, node: CloudNode, text: string): void {
  const limit = USER_DATA_LIMIT[plan.provider.type];
  const size = Buffer.byteLength(text);
  if (size > limit) throw new UserError(`user-data for ${node.name} is ${size} bytes; ${plan.provider.type} accepts at most ${limit}`);
}
