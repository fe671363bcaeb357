import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { NodeFacts } from "../../shared/join.js";
import { parseJsonWith } from "../../shared/validate.js";
import type { StepOutcome } from "../../shared/steps.js";
import { renderKubeconfig } from "../../shared/kubeconfig.js";
import { loadOrCreateClusterPki, issueClientCertificate, type ClusterPki } from "../../coordinator/pki/cluster-pki.js";
import { signProfileCertificate } from "../../coordinator/pki/profile-cert.js";
import { signNodeCertificate, validateNodeCsr } from "../../coordinator/pki/node-csr.js";
import { allocatePodCidr } from "../../coordinator/manifest/pod-cidr.js";
import { clusterFactsOf } from "../../coordinator/manifest/cluster-facts.js";
import { renderManifestBody } from "../../coordinator/manifest/render-manifest.js";
import type { NodeRecord } from "../../coordinator/state/records.js";
import { buildSteps } from "../../agent/builders/index.js";
import { startWanRelay, type WanRelay } from "./wan-relay.js";
import { SshSession } from "../../coordinator/providers/ssh/ssh-session.js";
import { callModule } from "./module-call.js";
import { LinearPlaybook, type HostPlan } from "./linear-playbook.js";
import type { PushHost } from "./push-machines.js";
import type { RawTask } from "./vanilla.js";

/**
 * The push baseline's workstation, Kubespray-style: from outside the cluster's network (every
 * connection through a WAN relay), it gathers facts from every host, renders each host's
 * configuration centrally (the same manifests and steps Sprout's agents build for themselves)
 * and runs them as a linear playbook over SSH with a fork limit. The CA stays on the
 * workstation, which signs the CSRs the hosts' keys produce.
 */
export interface PushSettings {
  /** Hosts worked on at once per task (Ansible's default and Kubespray's: 5). */
  forks: number;
  pipelining: boolean;
  rttMs: number;
}

export interface TaskRun {
  host: string;
  task: string;
  start: number;
  end: number;
  outcome: StepOutcome;
  /** The module's own time on the host; the rest is SSH round trips and starting the module. */
  remoteMs?: number;
  error?: string;
}

export interface PushResult {
  runs: TaskRun[];
  /** Distinct tasks the playbook ran (facts included). */
  tasks: number;
  failedHosts: string[];
  kubeconfig: string;
}

export async function pushDeploy(
  spec: ClusterSpec,
  hosts: PushHost[],
  o: PushSettings & { clientKey: string; pkiDir: string; log: (line: string) => void; /** Raw tasks before facts (the vanilla image's installs). */ prelude?: RawTask[] },
): Promise<PushResult> {
  const relays = new Map<string, WanRelay>();
  const sessions = new Map<string, Promise<SshSession>>();
  const runs: TaskRun[] = [];
  try {
    await Promise.all(hosts.map(async (h) => relays.set(h.name, await startWanRelay({ target: { host: h.address, port: 22 }, rttMs: o.rttMs }))));
    const session = (h: PushHost) => {
      let s = sessions.get(h.name);
      const relay = relays.get(h.name)!;
      if (!s) sessions.set(h.name, (s = SshSession.openWhenUp({ name: h.name, host: relay.host, port: relay.port, privateKey: o.clientKey, hostKey: h.hostKey })));
      return s;
    };
    /** Runs one task on its hosts, `forks` at a time; returns what it recorded. */
    const task = async (name: string, on: PushHost[], work: (h: PushHost, s: SshSession) => Promise<{ outcome: StepOutcome; error?: string; remoteMs?: number }>) => {
      const before = runs.length;
      await forEachLimited(on, o.forks, async (h) => {
        const start = Date.now();
        const r = await session(h).then((s) => work(h, s)).catch((err: Error) => ({ outcome: "failed" as const, error: err.message }));
        runs.push({ host: h.name, task: name, start, end: Date.now(), ...r });
      });
      return runs.slice(before);
    };
    /** The tasks before the playbook must pass on every host: there is nothing to go on with otherwise. */
    const onEveryHost = async (...args: Parameters<typeof task>) => {
      const failed = (await task(...args)).filter((r) => r.outcome === "failed");
      if (failed.length > 0) throw new Error(`${args[0]} failed: ${failed.map((r) => `${r.host}: ${r.error}`).join("; ")}`);
    };

    for (const raw of o.prelude ?? []) await onEveryHost(raw.name, hosts, async (h, s) => (await raw.run(h, s), { outcome: "changed" }));

    // Play 0: gather facts (Kubespray: gathering = smart, cached, so once per host).
    const facts = new Map<string, NodeFacts>();
    await onEveryHost("gather-facts", hosts, async (h, s) => {
      facts.set(h.name, parseJsonWith(NodeFacts, await s.run("sprout-agent facts"), `facts of ${h.name}`));
      return { outcome: "unchanged" };
    });

    // The inventory's group_vars, rendered on the workstation: PKI, pod CIDRs, manifests, steps.
    const pki = await loadOrCreateClusterPki(o.pkiDir);
    const records = inventoryRecords(spec, hosts, facts);
    const clusterFacts = clusterFactsOf(spec, pki, records);
    const built = records.map((r) => ({ record: r, steps: buildSteps({ ...renderManifestBody(spec, r, clusterFacts), revision: 1 }) }));
    // Routes to the other nodes' pod networks are one step per peer in Sprout's plans; a playbook
    // sets them in one task per host (Kubespray leaves them to its CNI's DaemonSet), not as n tasks.
    const plans: HostPlan[] = built.map((b) => ({ host: b.record.name, roles: b.record.roles, steps: b.steps.filter((s) => s.kind !== "route") }));
    const playbook = new LinearPlaybook(spec, plans);
    const recordOf = (name: string) => records.find((x) => x.name === name)!;
    // "Join": each host makes its key; the workstation signs its node certificate.
    await onEveryHost("node-identity", hosts, async (h, s) => {
      const r = await callModule(s, { identity: { nodeName: h.name, addresses: [h.address] } }, { pipelining: o.pipelining, answers: answers(spec, pki, recordOf(h.name)) });
      return { outcome: r.outcome, error: r.error, remoteMs: Math.round(r.durationMs) };
    });
    await onEveryHost("routes", hosts, async (h, s) => {
      const routes = built.find((b) => b.record.name === h.name)!.steps.flatMap((x) => (x.kind === "route" ? [`ip route replace ${x.destination} via ${x.via}`] : []));
      if (routes.length > 0) await s.run(["set -e", ...routes].join("\n"));
      return { outcome: "changed" };
    });
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const stepOf = (host: string, id: string) => plans.find((p) => p.host === host)!.steps.find((s) => s.id === id)!;
    let tasks = 3 + (o.prelude?.length ?? 0);
    for (let t = playbook.next(); t; t = playbook.next()) {
      tasks++;
      const ran = await task(t.id, t.hosts.map((n) => byName.get(n)!), async (h, s) => {
        const step = stepOf(h.name, t.id);
        const earlier = playbook.outcomesOf(h.name);
        const r = await callModule(s, { step, earlier }, { pipelining: o.pipelining, answers: answers(spec, pki, recordOf(h.name)) });
        return { outcome: r.outcome, error: r.error, remoteMs: Math.round(r.durationMs) };
      });
      for (const r of ran) {
        playbook.record(r.host, t.id, r.outcome);
        if (r.outcome === "failed") o.log(`  ${r.host}: task ${t.id} failed: ${r.error ?? ""}`);
      }
    }
    const admin = await issueClientCertificate(pki, { commonName: "sprout-admin", organizations: ["system:masters"] });
    const kubeconfig = renderKubeconfig({ clusterName: spec.name, server: clusterFacts.apiServerEndpoint!, user: "sprout-admin", ca: { pem: pki.caCertPem }, client: admin });
    return { runs, tasks, failedHosts: playbook.failed, kubeconfig };
  } finally {
    for (const s of sessions.values()) await s.then((x) => x.close()).catch(() => {});
    for (const r of relays.values()) await r.close();
  }
}

/** The records a coordinator would hold after every host joined: inventory order, pod CIDRs in turn. */
function inventoryRecords(spec: ClusterSpec, hosts: PushHost[], facts: Map<string, NodeFacts>): NodeRecord[] {
  const used: number[] = [];
  return hosts.map((h, i) => {
    const pod = allocatePodCidr(spec.networks.podCidr, spec.networks.podCidrMaskSize, used);
    used.push(pod.index);
    return {
      name: h.name,
      roles: h.roles,
      addresses: [h.address],
      tokenId: "push",
      publicKeyHash: "",
      certificate: "",
      certificateSerial: "",
      podCidr: pod.cidr,
      podCidrIndex: pod.index,
      joinedAt: i,
      facts: facts.get(h.name)!,
      manifestRevision: 1,
      manifestHash: "",
    };
  });
}

function answers(spec: ClusterSpec, pki: ClusterPki, node: NodeRecord) {
  return {
    sign: async (profile: Parameters<typeof signProfileCertificate>[1]["profile"], csr: string) =>
      signProfileCertificate(pki, { profile, csr }, node, { serviceCidr: spec.networks.serviceCidr, clusterDomain: spec.networks.clusterDomain, edgeBaseDomain: spec.edge.baseDomain }),
    signNode: async (csr: string) => {
      const validated = validateNodeCsr(csr, { nodeName: node.name, allowedDnsNames: [node.name], allowedIps: node.addresses });
      return { certificate: signNodeCertificate(pki, validated, node.name), caCertificate: pki.caCertPem };
    },
    // The playbook runs a barrier's task only once it holds (see LinearPlaybook).
    barrier: async () => true,
  };
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}
