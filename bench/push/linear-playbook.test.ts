import { describe, expect, it } from "vitest";
import { buildSteps } from "../../agent/builders/index.js";
import { clusterFactsOf } from "../../coordinator/manifest/cluster-facts.js";
import { renderManifestBody } from "../../coordinator/manifest/render-manifest.js";
import type { ClusterPki } from "../../coordinator/pki/cluster-pki.js";
import type { NodeRecord } from "../../coordinator/state/records.js";
import { BARRIER, STORAGE_STEP } from "../../shared/barrier-names.js";
import type { Step, StepOutcome } from "../../shared/steps.js";
import type { ClusterSpec } from "../../shared/cluster-spec.js";
import { LinearPlaybook, type HostPlan } from "./linear-playbook.js";
import { kubenowTopology, topologySpec } from "./topology.js";
import { planNodes } from "../../coordinator/providers/local/node-plan.js";

/** The real plans Sprout's builders make for the 8-node paper topology (1 master+edge, 4 service, 3 storage). */
function paperPlans(): { spec: ClusterSpec; plans: HostPlan[] } {
  const { spec } = topologySpec("pb", kubenowTopology(8), { nodeCidr: "10.250.0.0/24", coordinatorPort: 7443 });
  const pem = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";
  const pki = { caCertPem: pem, etcdCa: { certPem: pem }, frontProxyCa: { certPem: pem } } as ClusterPki;
  const records = planNodes(spec).map((n, i): NodeRecord => ({
    name: n.name, roles: n.roles, addresses: [`10.250.0.${11 + i}`], tokenId: "t", publicKeyHash: "", certificate: "", certificateSerial: "",
    podCidr: `10.244.${i}.0/24`, podCidrIndex: i, joinedAt: i, manifestRevision: 1, manifestHash: "",
    facts: { hostname: n.name, machineId: "m", cpus: 2, memoryBytes: 1, disks: [], nics: [], os: "debian", kernel: "6", imageVersion: "x", agentVersion: "x", oomScoreAdjRestricted: false },
  }));
  const facts = clusterFactsOf(spec, pki, records);
  return { spec, plans: records.map((r) => ({ host: r.name, roles: r.roles, steps: buildSteps({ ...renderManifestBody(spec, r, facts), revision: 1 }) })) };
}

/** Runs the playbook to the end; `fail` picks steps that fail. Returns what ran, in order. */
function play(spec: ClusterSpec, plans: HostPlan[], fail: (host: string, id: string) => boolean = () => false) {
  const playbook = new LinearPlaybook(spec, plans);
  const ran: { host: string; id: string }[] = [];
  for (let t = playbook.next(); t; t = playbook.next()) {
    for (const host of t.hosts) {
      ran.push({ host, id: t.id });
      playbook.record(host, t.id, (fail(host, t.id) ? "failed" : "changed") as StepOutcome);
    }
  }
  return { ran, playbook };
}

const isBarrierWait = (s: Step, name: string) => s.kind === "waitFor" && s.condition.type === "barrier" && s.condition.name === name;

describe("LinearPlaybook over Sprout's own plans", () => {
  it("runs every step of every host once, each after its dependencies", () => {
    const { spec, plans } = paperPlans();
    const { ran } = play(spec, plans);
    for (const p of plans) {
      const order = ran.filter((r) => r.host === p.host).map((r) => r.id);
      expect(order.sort()).toEqual(p.steps.map((s) => s.id).sort());
      const at = (id: string) => ran.findIndex((r) => r.host === p.host && r.id === id);
      for (const s of p.steps) for (const d of s.dependsOn) expect(at(d), `${p.host}: ${d} before ${s.id}`).toBeLessThan(at(s.id));
    }
  });

  it("holds the workers' join until the master is done, and the volume until every brick's glusterd runs", () => {
    const { spec, plans } = paperPlans();
    const { ran } = play(spec, plans);
    const lastMasterStep = Math.max(...ran.map((r, i) => (r.host === "master-1" ? i : -1)));
    const apiWaits = plans.flatMap((p) => p.steps.filter((s) => isBarrierWait(s, BARRIER.apiServerReady)).map((s) => ran.findIndex((r) => r.host === p.host && r.id === s.id)));
    expect(apiWaits.length).toBe(7);
    for (const i of apiWaits) expect(i).toBeGreaterThan(lastMasterStep);
    const volume = ran.findIndex((r) => r.id === STORAGE_STEP.volume);
    const glusterds = ran.flatMap((r, i) => (r.id === STORAGE_STEP.glusterd ? [i] : []));
    expect(glusterds).toHaveLength(3);
    expect(volume).toBeGreaterThan(Math.max(...glusterds));
  });

  it("runs a task on all hosts it applies to at once (linear strategy)", () => {
    const { spec, plans } = paperPlans();
    const playbook = new LinearPlaybook(spec, plans);
    const first = playbook.next()!;
    expect(first.hosts.length).toBe(8);
  });

  it("takes a host whose task failed out of the play and finishes the others", () => {
    const { spec, plans } = paperPlans();
    const { ran, playbook } = play(spec, plans, (host, id) => host === "service-2" && id === "containerd/config");
    expect(playbook.failed).toEqual(["service-2"]);
    const after = ran.slice(ran.findIndex((r) => r.host === "service-2" && r.id === "containerd/config") + 1);
    expect(after.some((r) => r.host === "service-2")).toBe(false);
    expect(ran.filter((r) => r.host === "service-1").length).toBe(plans.find((p) => p.host === "service-1")!.steps.length);
  });

  it("says which host waits for what when the plans can never finish", () => {
    const { spec, plans } = paperPlans();
    // The master fails early: no API server, so the workers' barrier can never open.
    const playbook = new LinearPlaybook(spec, plans);
    let error: Error | undefined;
    try {
      for (let t = playbook.next(); t; t = playbook.next()) for (const h of t.hosts) playbook.record(h, t.id, h === "master-1" ? "failed" : "changed");
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(/the playbook cannot go on: .*service-1 waits for .*/);
  });
});
