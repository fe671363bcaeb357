import { readFile } from "node:fs/promises";
import { stringify } from "yaml";
import type { ClusterSpec, PlannedNode, SshHost } from "../../../shared/cluster-spec.js";
import { planNodes } from "../../../shared/cluster-spec.js";
import { UserError } from "../../../shared/errors.js";
import { userPath, type DeploymentPaths } from "../../deployment.js";
import { color, formatMs, progress } from "../../output.js";
import { parseListen } from "../../server/listen-address.js";
import type { Provider, ProviderPlan, UpContext } from "../../up/provider.js";
import { serveHere } from "../../up/serve-here.js";
import { probeAgentIn } from "../local/agent-probe.js";
import { ensureNodeImage, imageBuildFile } from "../local/node-image.js";
import { asRoot, installScript, neededFiles, packageProblem, parseProbe, probeScript, shellWord, uploadBundle } from "./host-install.js";
import { fingerprint, hostKeyPolicy, knownHostsFile } from "./host-keys.js";
import { buildNodeBundle, type NodeBundle } from "./node-bundle.js";
import { SshSession } from "./ssh-session.js";

/**
 * Existing machines (`provider: ssh`). SSH is used once per host, all hosts at once, only to put
 * the agent (and what the host lacks of the node bundle) in place, write its bootstrap file and
 * start it; the nodes then join this coordinator and configure themselves, exactly as machines
 * booted from the image do. Host keys are verified: pinned or known_hosts.
 */
export const sshProvider: Provider = {
  async prepare({ paths, spec }: UpContext): Promise<ProviderPlan> {
    if (spec.provider.type !== "ssh") {
      throw new UserError(`${paths.clusterYaml}: provider.type is ${spec.provider.type}; --provider ssh needs provider: { type: ssh, hosts: [...] }`);
    }
    const provider = spec.provider;
    const nodes = planNodes(spec);
    const url = coordinatorUrl(spec);
    progress(`sprout up ${spec.name}: ${nodes.length} existing machine(s) over SSH; agents will join ${url}`);

    // Everything that can be wrong on this side is found before any host is touched.
    const knownHosts = knownHostsFile(userPath(paths, provider.knownHosts ?? "~/.ssh/known_hosts"));
    const logins = await Promise.all(
      provider.hosts.map(async (h) => ({ key: await privateKeyFor(h, paths), policy: await hostKeyPolicy(h, knownHosts) })),
    );
    const image = await ensureNodeImage((line) => progress(color.dim(`  ${line}`)));
    const bundle = await buildNodeBundle(image, { packageList: imageBuildFile("rootfs/packages.txt") });
    if (bundle.kubernetesVersion !== spec.kubernetesVersion) {
      throw new UserError(
        `${paths.clusterYaml}: kubernetesVersion is ${spec.kubernetesVersion}, but the node bundle (image ${image.version}) ` +
          `has Kubernetes ${bundle.kubernetesVersion}; set kubernetesVersion: ${bundle.kubernetesVersion}`,
      );
    }
    const { host, port } = parseListen(spec.coordinator.listen, "coordinator.listen");
    const sessions = new Map<string, SshSession>();
    return {
      spec,
      nodes,
      openCoordinator: () => serveHere(spec, paths, { host, port, advertise: spec.coordinator.advertise }, url),
      async launch({ co, bootstrap }) {
        const t0 = Date.now();
        const failed = new Map<string, string>();
        const restartedAt = new Map<string, number>();
        await Promise.all(
          nodes.map(async (node, i) => {
            const h = provider.hosts[i]!;
            const started = Date.now();
            try {
              // 60 attempts (~45 s): a host just booted, or busy booting its neighbours, gets its
              // sshd up; a wrong address still fails within a minute.
              const login = { name: node.name, host: h.address, port: h.port, user: h.user, privateKey: logins[i]!.key, hostKey: logins[i]!.policy };
              const session = await SshSession.openWhenUp(login, 60);
              sessions.set(node.name, session);
              const sent = await installOnHost(session, h, node, bundle, spec, stringify(bootstrap(node)), (at) => restartedAt.set(node.name, at));
              progress(`  ${node.name.padEnd(16)} ${"installed".padEnd(11)} ${sent} in ${formatMs(Date.now() - started)}; agent started`);
            } catch (err) {
              const reason = (err as Error).message;
              failed.set(node.name, reason);
              progress(color.red(`  ${node.name.padEnd(16)} ${"failed".padEnd(11)} ${reason}`));
            }
          }),
        );
        if (failed.size === nodes.length) {
          progress(color.red(`no host could be set up; nothing was started`));
          return 1;
        }
        progress(`${nodes.length - failed.size} of ${nodes.length} host(s) set up in ${formatMs(Date.now() - t0)}; agents are configuring their nodes`);
        return {
          t0,
          status: () => co.clusterStatus(),
          failed,
          restartedAt,
          probe: (n) => probeAgentIn(sshExec(sessions.get(n.name)!, provider.hosts[nodes.indexOf(n)]!.user)),
          endNote: "the agents keep running on the hosts",
        };
      },
      close: async () => {
        for (const s of sessions.values()) s.close();
      },
    };
  },
};

/** One host: probe, send what it lacks, install, start the agent. Returns what was sent, for progress. */
async function installOnHost(
  session: SshSession,
  h: SshHost,
  node: PlannedNode,
  bundle: NodeBundle,
  spec: ClusterSpec,
  bootstrap: string,
  restarting: (hostTime: number) => void,
): Promise<string> {
  const probe = parseProbe(await session.run(asRoot(h.user, "sh -s"), probeScript(bundle)));
  const problem = packageProblem(probe);
  if (problem) throw new Error(problem);
  const needed = neededFiles(probe, bundle, node.roles, spec.kubernetesVersion);
  await uploadBundle(session, h.user, bundle, [...needed.values()].flat());
  const script = installScript({ parts: [...needed.keys()], missingPackages: probe.missingPackages, bootstrap, imageVersion: bundle.imageVersion });
  // In the host's clock: the restarted agent stamps its events with it.
  restarting(probe.now ?? Date.now());
  await session.run(asRoot(h.user, "sh -s"), script);
  const mb = [...needed.keys()].reduce((n, p) => n + bundle.sizes[p], 0) / 1e6;
  const parts = [...needed.keys()].join(", ");
  return `${parts} (${mb.toFixed(mb < 10 ? 1 : 0)} MB; host key ${fingerprint(session.hostKey).slice(0, 19)}…)`;
}

/** The URL the hosts dial: the first advertised name, else the listen address if it is one they can reach. */
export function coordinatorUrl(spec: ClusterSpec): string {
  const { host, port } = parseListen(spec.coordinator.listen, "coordinator.listen");
  const dial = spec.coordinator.advertise[0] ?? host;
  if (["0.0.0.0", "127.0.0.1", "localhost", "::"].includes(dial)) {
    throw new UserError(
      `cluster.yaml: the ssh provider's hosts must reach the coordinator, but coordinator.listen is ${spec.coordinator.listen} and nothing is advertised; ` +
        "set coordinator.listen to an address of this machine the hosts can reach (e.g. 0.0.0.0:7443) and coordinator.advertise to [that address]",
    );
  }
  return `https://${dial}:${port}`;
}

async function privateKeyFor(h: SshHost, paths: DeploymentPaths): Promise<string> {
  const candidates = (h.keyFile ? [h.keyFile] : ["~/.ssh/id_ed25519", "~/.ssh/id_rsa"]).map((p) => userPath(paths, p));
  for (const file of candidates) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined) return text;
  }
  throw new UserError(`host ${h.address}: no private key at ${candidates.join(" or ")} (set keyFile for this host)`);
}

/** Runs argv on the host as root through the session, for the agent probe. */
function sshExec(session: SshSession, user: string) {
  return async (argv: string[], o?: { timeoutMs?: number }) => {
    const r = await session.exec(asRoot(user, argv.map(shellWord).join(" ")), { timeoutMs: o?.timeoutMs ?? 10_000 });
    return { code: r.code, stdout: r.stdout };
  };
}
