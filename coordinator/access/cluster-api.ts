import { Agent } from "undici";
import { z } from "zod";
import { API } from "../../shared/join.js";
import { ClusterStatus, TokenView, type CreateTokenRequest } from "../../shared/status.js";
import { requestJson } from "../../shared/http-json.js";
import { Coordinator } from "../coordinator.js";
import { deploymentPaths, loadClusterSpec, type DeploymentPaths } from "../deployment.js";
import { acquireStateLock } from "../state/state-lock.js";
import { readServeInfo } from "./serve-info.js";
import { readAdminTls } from "./admin-credentials.js";
import { UserError } from "../../shared/errors.js";
import { isCloudProvider } from "../../shared/cloud-provider.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { openMasterLink, readOutputs, remoteStatus } from "../providers/cloud/master-link.js";
import { cloudDir } from "../providers/cloud/render-cloud.js";

/**
 * What the CLI asks of a cluster. With a coordinator running for the deployment, requests go to
 * its admin API over mTLS (it owns the state); otherwise the CLI opens the state itself, under
 * the same lock a coordinator would hold.
 */
export interface ClusterApi {
  status(): Promise<ClusterStatus>;
  listTokens(): Promise<TokenView[]>;
  createToken(req: CreateTokenRequest): Promise<{ token: string; view: TokenView }>;
  revokeToken(id: string): Promise<TokenView>;
  close(): Promise<void>;
}

export async function openClusterApi(dir: string): Promise<ClusterApi> {
  const paths = deploymentPaths(dir);
  const spec = await loadClusterSpec(paths);
  // A cloud cluster's coordinator runs on its master: ask it through the SSH tunnel.
  if (isCloudProvider(spec) && (await readOutputs(cloudDir(paths, spec)))) return remoteClusterApi(spec, paths);
  const running = await readServeInfo(paths);
  if (running) {
    const dispatcher = new Agent({ connect: await readAdminTls(paths) });
    const url = (p: string) => new URL(p, running.url).href;
    return {
      status: () => requestJson(url(API.adminStatus), ClusterStatus, { dispatcher }),
      listTokens: () => requestJson(url(API.adminTokens), z.array(TokenView), { dispatcher }),
      createToken: (req) => requestJson(url(API.adminTokens), z.object({ token: z.string(), view: TokenView }), { dispatcher, method: "POST", body: req }),
      revokeToken: (id) => requestJson(url(`${API.adminTokens}/${encodeURIComponent(id)}`), TokenView, { dispatcher, method: "DELETE" }),
      close: () => dispatcher.close(),
    };
  }
  const release = await acquireStateLock(paths.lock);
  try {
    const co = await Coordinator.open(spec, paths);
    return {
      status: () => co.clusterStatus(),
      listTokens: async () => co.tokens.list(),
      createToken: (req) => co.tokens.create(req),
      revokeToken: (id) => co.tokens.revoke(id),
      close: release,
    };
  } catch (err) {
    await release();
    throw err;
  }
}

async function remoteClusterApi(spec: ClusterSpec, paths: DeploymentPaths): Promise<ClusterApi> {
  const link = await openMasterLink(spec, paths, 5);
  const remote = await remoteStatus(link, paths).catch((err: unknown) => {
    link.session.close();
    throw err;
  });
  const onMaster = async (): Promise<never> => {
    throw new UserError(`tokens of cloud cluster ${spec.name} live with its coordinator on the master: run \`sprout token …\` there (ssh ${link.user}@… then sudo sprout token list ${"/var/lib/sprout/cluster"})`);
  };
  return {
    status: remote.status,
    listTokens: onMaster,
    createToken: onMaster,
    revokeToken: onMaster,
    close: async () => {
      await remote.close();
      link.session.close();
    },
  };
}
