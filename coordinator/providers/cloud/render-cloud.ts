import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClusterSpec } from "../../../shared/cluster-spec.js";
import type { CloudType } from "../../../shared/cloud-provider.js";
import { UserError } from "../../../shared/errors.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import type { Coordinator } from "../../coordinator.js";
import { userPath, type DeploymentPaths } from "../../deployment.js";
import { placeholderToken } from "../../up/join-tokens.js";
import { planCloud, type CloudPlan } from "./cloud-plan.js";
import { renderHcl, type HclBody } from "./hcl.js";
import { renderAws } from "./render-aws.js";
import { renderAzure } from "./render-azure.js";
import { renderGcp } from "./render-gcp.js";
import { renderOpenStack } from "./render-openstack.js";
import { sealState } from "./sealed-state.js";
import { ed25519KeyPair } from "../ssh/host-keys.js";
import { checkUserDataSize, renderUserData } from "./user-data.js";

/**
 * Renders a cloud cluster into `<deployment>/cloud/<provider>/`: `main.tf` (OpenTofu/Terraform),
 * `user-data/<node>.yaml` per VM, and `state.key` (0600), the key to the master's sealed
 * coordinator state, which `sprout up` hands to the master over SSH. The tokens (`up` issues them,
 * bound to the node names) go into the user-data and the sealed state.
 */
/** Where a cloud cluster's rendered configuration, keys and tofu state live. */
export function cloudDir(paths: DeploymentPaths, spec: ClusterSpec): string {
  return join(paths.stateDir, "cloud", spec.provider.type);
}

/** The master's pinned SSH host key (public half), next to main.tf. */
export const MASTER_HOST_KEY = "master-host-key.pub";

export interface RenderedCloud {
  dir: string;
  plan: CloudPlan;
  mainTf: string;
  userData: Record<string, string>;
  keyFile: string;
}

const RENDERERS: Record<CloudType, (plan: CloudPlan, sshPublicKey: string) => HclBody> = {
  aws: renderAws,
  gcp: renderGcp,
  azure: renderAzure,
  openstack: renderOpenStack,
};

/** Where each cloud's first data disk shows up inside the VM. */
export const STORAGE_DEVICE: Record<CloudType, string> = {
  openstack: "/dev/vdb",
  aws: "/dev/nvme1n1",
  gcp: "/dev/disk/by-id/google-brick",
  azure: "/dev/disk/azure/scsi1/lun0",
};

export async function renderCloud(
  spec: ClusterSpec,
  paths: DeploymentPaths,
  co: Coordinator,
  tokens: Map<string, string>,
): Promise<RenderedCloud> {
  const plan = planCloud(spec);
  const type = plan.provider.type;
  if (plan.nodes.some((n) => n.volumeGiB) && spec.storage.device !== STORAGE_DEVICE[type]) {
    throw new UserError(`${paths.clusterYaml}: storage.device is ${spec.storage.device}, but on ${type} the storage volume appears as ${STORAGE_DEVICE[type]}; set storage.device: ${STORAGE_DEVICE[type]}`);
  }
  const sshPublicKey = await readPublicKey(plan.provider.sshPublicKeyFile, paths);
  const dir = cloudDir(paths, spec);
  const mainTf = `# Rendered by sprout from ${paths.clusterYaml} (cluster ${plan.cluster}, ${type}); edit cluster.yaml, not this file.\n${renderHcl(RENDERERS[type](plan, sshPublicKey))}`;
  const keyFile = join(dir, "state.key");

  // Rendered before (the VMs may exist): the same user-data, keys and tokens, or tofu would
  // replace or restart every VM, and the master would keep the host key and state of the first.
  const before = await readRecord(dir);
  if (before) {
    const names = plan.nodes.map((n) => n.name);
    if (before.nodes.join(",") !== names.join(",")) {
      throw new UserError(
        `${paths.clusterYaml}: cluster ${plan.cluster} on ${type} was created with nodes ${before.nodes.join(", ")}; this asks for ${names.join(", ")}. ` +
          `Changing a running cloud cluster's nodes is not supported yet: remove it (tofu destroy in ${dir}, then delete that directory) and run sprout up again`,
      );
    }
    const userData = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, "user-data", `${n}.yaml`), "utf8")] as const)));
    await writeFileAtomic(join(dir, "main.tf"), mainTf, 0o644);
    return { dir, plan, mainTf, userData, keyFile };
  }

  // Sealed after the tokens exist: the master's coordinator must know their hashes.
  const sealed = await sealState(paths, spec.edge.tls ? [spec.edge.tls.certFile, spec.edge.tls.keyFile] : []);
  const masterHostKey = ed25519KeyPair();
  const userData: Record<string, string> = {};
  for (const n of plan.nodes) {
    const token = tokens.get(n.name) ?? placeholderToken();
    const text = renderUserData(plan, n, { token, caPin: co.pki.caPin }, n.name === plan.master.name ? { sealedState: sealed.text, hostKey: masterHostKey } : undefined);
    checkUserDataSize(plan, n, text);
    userData[n.name] = text;
  }
  await rm(join(dir, "user-data"), { recursive: true, force: true });
  await mkdir(join(dir, "user-data"), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, "main.tf"), mainTf, 0o644);
  // User-data holds join tokens: readable by the owner only.
  for (const [name, text] of Object.entries(userData)) await writeFile(join(dir, "user-data", `${name}.yaml`), text, { mode: 0o600 });
  await writeFileAtomic(keyFile, sealed.key.toString("base64"), 0o600);
  await writeFileAtomic(join(dir, MASTER_HOST_KEY), `${masterHostKey.public}\n`, 0o644);
  // Last: its presence says everything above is complete and is to be reused.
  await writeFileAtomic(join(dir, RECORD), JSON.stringify({ nodes: plan.nodes.map((n) => n.name), renderedAt: new Date().toISOString() }, null, 2), 0o644);
  return { dir, plan, mainTf, userData, keyFile };
}

const RECORD = "rendered.json";

/** Whether `dir` holds a complete earlier rendering, which is reused as it is (no new tokens). */
export async function wasRendered(dir: string): Promise<boolean> {
  return (await readRecord(dir)) !== undefined;
}

async function readRecord(dir: string): Promise<{ nodes: string[] } | undefined> {
  const text = await readFile(join(dir, RECORD), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { nodes: string[] });
}

async function readPublicKey(file: string, paths: DeploymentPaths): Promise<string> {
  const path = userPath(paths, file);
  const text = (await readFile(path, "utf8").catch(() => undefined))?.trim();
  if (!text) throw new UserError(`provider.sshPublicKeyFile: cannot read ${path} (make a key with ssh-keygen -t ed25519, or point sshPublicKeyFile at yours)`);
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(text.split("\n")[0]!)) throw new UserError(`provider.sshPublicKeyFile: ${path} is not an OpenSSH public key`);
  return text.split("\n")[0]!;
}
