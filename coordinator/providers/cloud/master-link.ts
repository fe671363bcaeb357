import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Agent } from "undici";
import { z } from "zod";
import type { ClusterSpec } from "../../../shared/cluster-spec.js";
import { UserError } from "../../../shared/errors.js";
import { API } from "../../../shared/join.js";
import { ClusterStatus } from "../../../shared/status.js";
import { requestJson } from "../../../shared/http-json.js";
import { writeFileAtomic } from "../../../shared/atomic-file.js";
import { userPath, type DeploymentPaths } from "../../deployment.js";
import { asRoot } from "../ssh/host-install.js";
import { publicBlob } from "../ssh/host-keys.js";
import { SshSession } from "../ssh/ssh-session.js";
import { readAdminTls } from "../../access/admin-credentials.js";
import { planCloud, type CloudPlan } from "./cloud-plan.js";
import { cloudDir, MASTER_HOST_KEY } from "./render-cloud.js";
import { MASTER_PATHS } from "./user-data.js";

/**
 * The CLI's way into a cloud cluster: SSH to the master's public address (its host key pinned
 * from render time), then tunnels through that connection to the coordinator and the API server
 * on the master's private address. Neither is open to the internet.
 */
export const CloudOutputs = z.object({ masterPublicIp: z.string().min(1), edgePublicIps: z.record(z.string(), z.string()).default({}) });
export type CloudOutputs = z.infer<typeof CloudOutputs>;

export async function saveOutputs(dir: string, outputs: CloudOutputs): Promise<void> {
  await writeFileAtomic(join(dir, "outputs.json"), JSON.stringify(outputs, null, 2), 0o644);
}

export async function readOutputs(dir: string): Promise<CloudOutputs | undefined> {
  const text = await readFile(join(dir, "outputs.json"), "utf8").catch(() => undefined);
  return text === undefined ? undefined : CloudOutputs.parse(JSON.parse(text));
}

export interface MasterLink {
  plan: CloudPlan;
  session: SshSession;
  user: string;
}

/** SSH to the master, waiting (about two minutes) for a new VM's sshd. */
export async function openMasterLink(spec: ClusterSpec, paths: DeploymentPaths, attempts = 120): Promise<MasterLink> {
  const plan = planCloud(spec);
  const dir = cloudDir(paths, spec);
  const outputs = await readOutputs(dir);
  if (!outputs) throw new UserError(`${dir}/outputs.json is missing: the cluster's VMs were not created by \`sprout up\` yet`);
  const hostKey = publicBlob(await readFile(join(dir, MASTER_HOST_KEY), "utf8"));
  const keyFile = userPath(paths, plan.provider.sshPublicKeyFile.replace(/\.pub$/, ""));
  const privateKey = await readFile(keyFile, "utf8").catch(() => {
    throw new UserError(`no private key at ${keyFile} (the one whose public half is provider.sshPublicKeyFile)`);
  });
  const session = await SshSession.openWhenUp({ name: plan.master.name, host: outputs.masterPublicIp, port: 22, user: plan.provider.sshUser, privateKey, hostKey }, attempts);
  return { plan, session, user: plan.provider.sshUser };
}

/** Hands the master the key to its sealed coordinator state; its coordinator unit starts on it. */
export async function deliverStateKey(link: MasterLink, keyFile: string): Promise<void> {
  const key = await readFile(keyFile, "utf8");
  const dir = dirname(MASTER_PATHS.stateKey);
  await link.session.run(asRoot(link.user, `sh -c 'umask 077 && mkdir -p ${dir} && cat >${MASTER_PATHS.stateKey}.new && mv ${MASTER_PATHS.stateKey}.new ${MASTER_PATHS.stateKey}'`), key);
}

/** The coordinator's admin API through the tunnel, over mTLS as the admin, the server checked against the cluster CA. */
export async function remoteStatus(link: MasterLink, paths: DeploymentPaths): Promise<{ status(): Promise<ClusterStatus>; close(): Promise<void> }> {
  const tunnel = await link.session.forwardLocal(link.plan.master.privateIp, link.plan.coordinatorPort);
  const { ca, cert, key } = await readAdminTls(paths);
  // The tunnel's local end is 127.0.0.1; the certificate names the master's private address.
  const dispatcher = new Agent({ connect: { ca, cert, key, servername: undefined, checkServerIdentity: (_host, peer) => (peer.subjectaltname?.split(", ").includes(`IP Address:${link.plan.master.privateIp}`) ? undefined : new Error(`the coordinator's certificate does not name ${link.plan.master.privateIp}`)) } });
  const url = `https://127.0.0.1:${tunnel.port}${API.adminStatus}`;
  return {
    status: () => requestJson(url, ClusterStatus, { dispatcher }),
    close: async () => {
      await dispatcher.close();
      await tunnel.close();
    },
  };
}
