import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CertProfileName } from "../../shared/cert-profiles.js";
import { loadOrCreateClusterPki, type ClusterPki } from "../../coordinator/pki/cluster-pki.js";
import { signProfileCertificate } from "../../coordinator/pki/profile-cert.js";
import { NODE_PATHS, NodeManifest, type NodeManifestInput } from "../../shared/node-manifest.js";
import type { NodeRole } from "../../shared/roles.js";
import type { Step, StepOf } from "../../shared/steps.js";
import { runSteps } from "../executor/executor.js";
import { dependenciesOf, validatePlan } from "../executor/validate-plan.js";
import { RealHost } from "../host/real-host.js";
import { LiveLikeHost } from "../host/live-like-host.testing.js";
import { renderContainerdConfigV2, renderContainerdConfigV3 } from "./containerd.js";
import { buildSteps } from "./index.js";
import { minorSupport, SUPPORTED_MINORS } from "../../shared/versions.js";
import { renderKubeletConfig, renderKubeletUnit } from "./kubelet.js";

/** A real cluster PKI: certificate steps get their certificates signed and verified for real. */
let pki: ClusterPki;
let pkiDir: string;
let CA = "";
beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), "sprout-builders-pki-"));
  pki = await loadOrCreateClusterPki(pkiDir);
  CA = pki.caCertPem;
});
afterAll(async () => {
  await rm(pkiDir, { recursive: true, force: true });
});

/** What the coordinator does for `POST /v1/certificates`, for a master (allowed every profile). */
const signer = async (profile: CertProfileName, csr: string) =>
  signProfileCertificate(pki, { profile, csr }, { name: "master-1", addresses: ["10.240.0.11"], roles: ["master"] }, { serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local" });
const KUBECONFIG = "apiVersion: v1\nkind: Config\n";

interface Options {
  roles?: NodeRole[];
  version?: string;
  apiServerEndpoint?: boolean;
  egressProxy?: boolean;
  taints?: NodeManifest["kubelet"]["registerWithTaints"];
}

/** A manifest as the coordinator renders it for a master or a worker. */
function manifest(o: Options = {}): NodeManifest {
  const roles = o.roles ?? ["service"];
  const endpoint = o.apiServerEndpoint ?? true;
  const files: NodeManifestInput["files"] = [{ path: `${NODE_PATHS.kubePki}/ca.crt`, content: CA, mode: 0o644 }];
  if (roles.includes("master")) {
    files.push(
      { path: `${NODE_PATHS.kubePki}/etcd/ca.crt`, content: pki.etcdCa.certPem, mode: 0o644 },
      { path: `${NODE_PATHS.kubePki}/front-proxy-ca.crt`, content: pki.frontProxyCa.certPem, mode: 0o644 },
    );
  }
  if (endpoint) files.push({ path: NODE_PATHS.kubeletKubeconfig, content: KUBECONFIG, mode: 0o600 });
  const input: NodeManifestInput = {
    apiVersion: "sprout.dev/v1alpha1",
    kind: "NodeManifest",
    revision: 2,
    cluster: {
      name: "demo",
      kubernetesVersion: o.version ?? "1.20.2",
      clusterDomain: "cluster.local",
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      dnsServiceIp: "10.96.0.10",
      apiServerEndpoint: endpoint ? "https://10.240.0.10:6443" : undefined,
    },
    node: { name: roles.includes("master") ? "master-1" : "svc-1", roles, addresses: ["10.240.0.11"], podCidr: "10.244.1.0/24" },
    files,
    kernel: {
      modules: ["overlay", "br_netfilter"],
      sysctls: { "net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "net.bridge.bridge-nf-call-ip6tables": "1" },
    },
    containerd: { sandboxImage: "registry.k8s.io/pause:3.2" },
    kubelet: {
      maxPods: 110,
      nodeLabels: Object.fromEntries([...roles.map((r) => [`sprout.dev/role-${r}`, ""]), ["sprout.dev/cluster", "demo"]]),
      registerWithTaints: o.taints ?? (roles.includes("master") ? [{ key: "node-role.kubernetes.io/master", effect: "NoSchedule" }] : []),
    },
    egressProxy: o.egressProxy ? { httpProxy: "http://proxy:3128", httpsProxy: "http://proxy:3129", noProxy: "localhost,10.244.0.0/16,10.96.0.0/12,.cluster.local" } : undefined,
  };
  return NodeManifest.parse(input);
}

const byId = (steps: Step[], id: string): Step => {
  const s = steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in ${steps.map((x) => x.id).join(", ")}`);
  return s;
};
const fileStep = (steps: Step[], id: string) => byId(steps, id) as StepOf<"file">;
const unitStep = (steps: Step[], id: string) => byId(steps, id) as StepOf<"systemdUnit">;

/** Every step `id` transitively depends on. */
function ancestors(steps: Step[], id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (x: string) => {
    for (const d of dependenciesOf(byId(steps, x))) if (!seen.has(d)) (seen.add(d), visit(d));
  };
  visit(id);
  return seen;
}

const combos: Options[] = [];
for (const roles of [["master", "edge"], ["service"], ["storage"]] as NodeRole[][]) {
  for (const apiServerEndpoint of [true, false]) for (const egressProxy of [true, false]) combos.push({ roles, apiServerEndpoint, egressProxy });
}

describe("buildSteps: the plan's shape", () => {
  it.each(combos)("passes plan validation: %j", (o) => {
    const steps = buildSteps(manifest(o));
    expect(() => validatePlan(steps)).not.toThrow();
    expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
    for (const s of steps) for (const d of dependenciesOf(s)) expect(steps.some((x) => x.id === d), `${s.id} → ${d}`).toBe(true);
  });

  it("also passes for every supported minor", () => {
    for (const version of ["1.20.2", "1.30.4", "1.31.0", "1.32.1", "1.33.0"]) {
      expect(() => validatePlan(buildSteps(manifest({ version })))).not.toThrow();
      expect(() => validatePlan(buildSteps(manifest({ version, roles: ["master"] })))).not.toThrow();
    }
  });

  it("makes workers wait for the apiserver-ready barrier before the kubelet runs; masters don't wait", () => {
    const worker = buildSteps(manifest({ roles: ["service"] }));
    const wait = byId(worker, "kubelet/wait-apiserver") as StepOf<"waitFor">;
    expect(wait.kind).toBe("waitFor");
    expect(wait.condition).toEqual({ type: "barrier", name: "apiserver-ready" });
    expect(ancestors(worker, "kubelet/service").has("kubelet/wait-apiserver")).toBe(true);

    const master = buildSteps(manifest({ roles: ["master", "edge"] }));
    expect(master.some((s) => s.kind === "waitFor")).toBe(false);
  });

  it("starts the kubelet after containerd, its config, unit and kubeconfig, and restarts it when they change", () => {
    const steps = buildSteps(manifest());
    const kubelet = unitStep(steps, "kubelet/service");
    const deps = ancestors(steps, "kubelet/service");
    for (const id of ["containerd/service", "kubelet/config", "kubelet/unit-file", `files${NODE_PATHS.kubeletKubeconfig}`, "dirs/kubelet"]) expect(deps.has(id), id).toBe(true);
    expect(kubelet.restartOnChangeOf).toEqual(expect.arrayContaining(["kubelet/config", "kubelet/unit-file", `files${NODE_PATHS.kubeletKubeconfig}`]));
    expect(unitStep(buildSteps(manifest({ apiServerEndpoint: false })), "kubelet/service").restartOnChangeOf).not.toContain(`files${NODE_PATHS.kubeletKubeconfig}`);
  });

  it("loads br_netfilter before its sysctls and overlay before containerd", () => {
    const steps = buildSteps(manifest());
    expect(ancestors(steps, "kernel/sysctl-net.bridge.bridge-nf-call-iptables").has("kernel/module-br_netfilter")).toBe(true);
    expect(ancestors(steps, "containerd/service").has("kernel/module-overlay")).toBe(true);
  });

  it("writes the coordinator's files verbatim with their modes", () => {
    const steps = buildSteps(manifest());
    expect(fileStep(steps, `files${NODE_PATHS.kubePki}/ca.crt`)).toMatchObject({ path: "/etc/kubernetes/pki/ca.crt", content: CA, mode: 0o644 });
    expect(fileStep(steps, `files${NODE_PATHS.kubeletKubeconfig}`)).toMatchObject({ content: KUBECONFIG, mode: 0o600 });
    expect(steps.some((s) => s.id === `files${NODE_PATHS.kubeletKubeconfig}`)).toBe(true);
    expect(buildSteps(manifest({ apiServerEndpoint: false })).some((s) => s.id === `files${NODE_PATHS.kubeletKubeconfig}`)).toBe(false);
  });

  it("gives containerd and the kubelet egress proxy drop-ins that restart them", () => {
    const steps = buildSteps(manifest({ egressProxy: true }));
    for (const unit of ["containerd.service", "kubelet.service"]) {
      const dropIn = fileStep(steps, `proxy/${unit}`);
      expect(dropIn.path).toBe(`/etc/systemd/system/${unit}.d/sprout-proxy.conf`);
      expect(dropIn.content).toBe(
        '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128"\nEnvironment="HTTPS_PROXY=http://proxy:3129"\nEnvironment="NO_PROXY=localhost,10.244.0.0/16,10.96.0.0/12,.cluster.local"\n',
      );
    }
    expect(unitStep(steps, "containerd/service").restartOnChangeOf).toContain("proxy/containerd.service");
    expect(unitStep(steps, "kubelet/service").restartOnChangeOf).toContain("proxy/kubelet.service");
    expect(buildSteps(manifest({ egressProxy: false })).some((s) => s.id.startsWith("proxy/"))).toBe(false);
  });
});

describe("containerd config", () => {
  const config = (version: string) => fileStep(buildSteps(manifest({ version })), "containerd/config");
  const lines = (text: string) => text.split("\n").map((l) => l.trim());

  it("is config version 2 for Kubernetes 1.20 (containerd 1.x)", () => {
    const step = config("1.20.2");
    expect(step.path).toBe("/etc/containerd/config.toml");
    expect(step.mode).toBe(0o644);
    const l = lines(step.content);
    expect(l).toContain("version = 2");
    expect(l).toContain('[plugins."io.containerd.grpc.v1.cri"]');
    expect(l).toContain('sandbox_image = "registry.k8s.io/pause:3.2"');
    expect(l).toContain("SystemdCgroup = true");
    expect(l).toContain('runtime_type = "io.containerd.runc.v2"');
    expect(l).toContain('conf_dir = "/etc/cni/net.d"');
    expect(step.content).not.toContain("io.containerd.cri.v1");
    expect(step.content).toBe(renderContainerdConfigV2(manifest({ version: "1.20.2" })));
  });

  it("is config version 3 for Kubernetes 1.31 (containerd 2.x)", () => {
    const step = config("1.31.0");
    const l = lines(step.content);
    expect(l).toContain("version = 3");
    expect(l).toContain("[plugins.'io.containerd.cri.v1.images'.pinned_images]");
    expect(l).toContain('sandbox = "registry.k8s.io/pause:3.2"');
    expect(l).toContain("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]");
    expect(l).toContain("SystemdCgroup = true");
    expect(l.some((x) => /^bin_dirs = \[.*"\/usr\/lib\/cni".*\]$/.test(x))).toBe(true);
    expect(step.content).not.toContain("io.containerd.grpc.v1.cri");
    expect(step.content).toBe(renderContainerdConfigV3(manifest({ version: "1.31.0" })));
  });

  it("clamps OOM score adjustments only when the manifest asks (local provider's node machines)", () => {
    for (const version of ["1.20.2", "1.31.0"]) {
      expect(lines(config(version).content)).toContain("restrict_oom_score_adj = false");
      const restricted = manifest({ version });
      restricted.containerd.restrictOomScoreAdj = true;
      const text = (version === "1.20.2" ? renderContainerdConfigV2 : renderContainerdConfigV3)(restricted);
      expect(lines(text)).toContain("restrict_oom_score_adj = true");
    }
  });

  it("has no duplicate tables (TOML would refuse the file)", () => {
    for (const version of ["1.20.2", "1.31.0"]) {
      const headers = lines(config(version).content).filter((x) => x.startsWith("["));
      expect(new Set(headers).size).toBe(headers.length);
    }
  });
});

/** A unit's ExecStart, as its words (continuation lines joined). */
const execStart = (unit: string) => {
  const m = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit);
  if (!m) throw new Error("no ExecStart");
  return m[1]!.split(/\s*\\\n\s*/).flatMap((x) => x.split(" "));
};

describe("kubelet", () => {

  it("passes --container-runtime=remote to 1.20 but not to 1.30 (the flag is gone since 1.27)", () => {
    const old = execStart(renderKubeletUnit(manifest({ version: "1.20.2" })));
    expect(old).toContain("--container-runtime=remote");
    expect(old).toContain("--container-runtime-endpoint=unix:///run/containerd/containerd.sock");
    expect(parseYaml(renderKubeletConfig(manifest({ version: "1.20.2" })))).not.toHaveProperty("containerRuntimeEndpoint");

    const current = execStart(renderKubeletUnit(manifest({ version: "1.30.4" })));
    expect(current.some((a) => a.startsWith("--container-runtime"))).toBe(false);
    expect(parseYaml(renderKubeletConfig(manifest({ version: "1.30.4" }))).containerRuntimeEndpoint).toBe("unix:///run/containerd/containerd.sock");
  });

  it("names the node, its address, config, kubeconfig and labels on the command line", () => {
    const args = execStart(renderKubeletUnit(manifest({ roles: ["master", "edge"] })));
    expect(args[0]).toBe("/usr/local/bin/kubelet");
    expect(args).toEqual(
      expect.arrayContaining([
        "--config=/var/lib/kubelet/config.yaml",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--hostname-override=master-1",
        "--node-ip=10.240.0.11",
        "--node-labels=sprout.dev/role-master=,sprout.dev/role-edge=,sprout.dev/cluster=demo",
      ]),
    );
  });

  it("writes a kubelet config YAML with systemd cgroups, the pod CIDR and cluster DNS", () => {
    const step = fileStep(buildSteps(manifest()), "kubelet/config");
    expect(step.path).toBe("/var/lib/kubelet/config.yaml");
    const config = parseYaml(step.content) as Record<string, unknown>;
    expect(config).toMatchObject({
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      cgroupDriver: "systemd",
      podCIDR: "10.244.1.0/24",
      clusterDNS: ["10.96.0.10"],
      clusterDomain: "cluster.local",
      maxPods: 110,
      tlsCertFile: NODE_PATHS.nodeCert,
      tlsPrivateKeyFile: NODE_PATHS.nodeKey,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } },
      authorization: { mode: "Webhook" },
    });
  });

  it("registers a 1.20 master's taints by flag (KubeletConfiguration has no registerWithTaints before 1.23)", () => {
    const m = manifest({ roles: ["master"], version: "1.20.2", taints: [{ key: "node-role.kubernetes.io/master", effect: "NoSchedule" }, { key: "dedicated", value: "edge", effect: "NoExecute" }] });
    expect(execStart(renderKubeletUnit(m))).toContain("--register-with-taints=node-role.kubernetes.io/master:NoSchedule,dedicated=edge:NoExecute");
    expect(parseYaml(renderKubeletConfig(m))).not.toHaveProperty("registerWithTaints");
    expect(execStart(renderKubeletUnit(manifest({ roles: ["service"], version: "1.20.2" }))).some((a) => a.startsWith("--register-with-taints"))).toBe(false);
  });

  it("registers a 1.30 master's taints in the config file", () => {
    const m = manifest({ roles: ["master"], version: "1.30.4" });
    expect(execStart(renderKubeletUnit(m)).some((a) => a.startsWith("--register-with-taints"))).toBe(false);
    expect(parseYaml(renderKubeletConfig(m)).registerWithTaints).toEqual([{ key: "node-role.kubernetes.io/master", effect: "NoSchedule" }]);
  });

  it("installs a unit that is wanted by the boot target", () => {
    const unit = fileStep(buildSteps(manifest()), "kubelet/unit-file");
    expect(unit.path).toBe("/etc/systemd/system/kubelet.service");
    expect(unit.content).toMatch(/\[Install\]\nWantedBy=multi-user.target\n/);
    expect(unit.content).toMatch(/After=containerd.service/);
  });
});

describe("buildSteps on a rootfs with the real executor", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-builders-"));
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(join(root, "lib/systemd/system/containerd.service"), "[Unit]\nDescription=containerd\n\n[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const mode = async (path: string) => (await stat(join(root, path))).mode & 0o7777;
  const text = (path: string) => readFile(join(root, path), "utf8");

  it.each([
    { name: "worker behind a proxy", o: { roles: ["service"], egressProxy: true } as Options },
    { name: "master without an API server yet", o: { roles: ["master", "edge"], apiServerEndpoint: false } as Options },
    { name: "1.31 worker", o: { roles: ["service"], version: "1.31.0" } as Options },
  ])("configures a $name, then a second run changes nothing", async ({ o }) => {
    const m = manifest(o);
    const steps = buildSteps(m);
    const barriersAsked: string[] = [];
    const options = {
      host: new RealHost({ root }),
      mode: "apply" as const,
      barriers: async (name: string) => (barriersAsked.push(name), true),
      sign: signer,
      backoff: { initialMs: 1, maxMs: 5 },
    };

    const first = await runSteps(steps, options);
    const failures = Object.entries(first.outcomes).filter(([, r]) => r.outcome === "failed" || r.outcome === "skipped");
    expect(failures).toEqual([]);
    expect(first.failed).toBe(0);
    expect(first.changed).toBeGreaterThan(0);
    expect(barriersAsked).toEqual(m.node.roles.includes("master") ? [] : ["apiserver-ready"]);

    // Files with the right content and modes.
    expect(await text("etc/kubernetes/pki/ca.crt")).toBe(CA);
    expect(await mode("etc/kubernetes/pki/ca.crt")).toBe(0o644);
    expect(await mode("etc/kubernetes/pki")).toBe(0o755);
    expect(await mode("var/lib/kubelet")).toBe(0o700);
    expect(await mode("etc/cni/net.d")).toBe(0o755);
    expect(await mode("var/lib/kubelet/config.yaml")).toBe(0o644);
    expect((parseYaml(await text("var/lib/kubelet/config.yaml")) as { podCIDR: string }).podCIDR).toBe("10.244.1.0/24");
    expect(await text("etc/containerd/config.toml")).toContain(m.cluster.kubernetesVersion === "1.31.0" ? "version = 3" : "version = 2");
    expect(await mode("etc/containerd/config.toml")).toBe(0o644);
    expect(await mode("etc/systemd/system/kubelet.service")).toBe(0o644);
    expect(await text("etc/modules-load.d/sprout-br_netfilter.conf")).toBe("br_netfilter\n");
    expect(await text("etc/sysctl.d/90-sprout-net.ipv4.ip_forward.conf")).toBe("net.ipv4.ip_forward = 1\n");
    if (o.apiServerEndpoint !== false) {
      expect(await text("etc/kubernetes/kubelet.conf")).toBe(KUBECONFIG);
      expect(await mode("etc/kubernetes/kubelet.conf")).toBe(0o600);
    } else {
      await expect(stat(join(root, "etc/kubernetes/kubelet.conf"))).rejects.toMatchObject({ code: "ENOENT" });
    }
    if (o.egressProxy) {
      expect(await text("etc/systemd/system/containerd.service.d/sprout-proxy.conf")).toContain("NO_PROXY=");
      expect(await mode("etc/systemd/system/kubelet.service.d/sprout-proxy.conf")).toBe(0o644);
    }
    // Units enabled the way systemctl would, with links that make sense inside the image.
    expect(await readlink(join(root, "etc/systemd/system/multi-user.target.wants/containerd.service"))).toBe("/lib/systemd/system/containerd.service");
    expect(await readlink(join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service"))).toBe("/etc/systemd/system/kubelet.service");
    expect((await lstat(join(root, "var/lib/sprout/journal.json"))).isFile()).toBe(true);

    const second = await runSteps(steps, options);
    const notUnchanged = Object.entries(second.outcomes).filter(([, r]) => r.outcome !== "unchanged");
    expect(notUnchanged).toEqual([]);
    expect(second.changed).toBe(0);
    expect(Object.keys(second.outcomes)).toEqual(steps.map((s) => s.id));
  });

  it("converges a changed manifest by rewriting only what differs", async () => {
    const options = { host: new RealHost({ root }), mode: "apply" as const, barriers: async () => true, sign: signer };
    await runSteps(buildSteps(manifest()), options);
    const changed = { ...manifest(), kubelet: { ...manifest().kubelet, maxPods: 50 } };
    const summary = await runSteps(buildSteps(changed), options);
    const changedIds = Object.entries(summary.outcomes).filter(([, r]) => r.outcome === "changed").map(([id]) => id);
    expect(changedIds).toEqual(["kubelet/config"]);
    expect((parseYaml(await text("var/lib/kubelet/config.yaml")) as { maxPods: number }).maxPods).toBe(50);
  });
});

describe("buildSteps on a live machine", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-builders-live-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("reloads systemd before restarting a unit whose drop-in changed, so the new environment applies", async () => {
    const host = new LiveLikeHost({ root });
    const options = { host, mode: "apply" as const, barriers: async () => true, sign: signer, journal: false };
    const first = await runSteps(buildSteps(manifest({ egressProxy: true })), options);
    expect(first.failed).toBe(0);
    expect(host.actions).toEqual(expect.arrayContaining(["enable containerd.service", "start containerd.service", "enable kubelet.service", "start kubelet.service"]));

    // Nothing changed: nothing is reloaded or restarted.
    host.actions.length = 0;
    const idle = await runSteps(buildSteps(manifest({ egressProxy: true })), options);
    expect(idle.changed).toBe(0);
    expect(host.actions).toEqual([]);

    // The proxy moved: both drop-ins change, and each unit is restarted only after a reload.
    const moved = manifest({ egressProxy: true });
    moved.egressProxy = { ...moved.egressProxy!, httpProxy: "http://other-proxy:3128" };
    host.actions.length = 0;
    const summary = await runSteps(buildSteps(moved), options);
    expect(summary.failed).toBe(0);
    for (const unit of ["containerd.service", "kubelet.service"]) {
      const restart = host.actions.indexOf(`restart ${unit}`);
      expect(restart, `restart ${unit} in ${host.actions.join(", ")}`).toBeGreaterThan(-1);
      expect(host.actions.slice(0, restart)).toContain("daemon-reload");
    }
  });

  it("reloads systemd before restarting the kubelet after its unit file changed", async () => {
    const host = new LiveLikeHost({ root });
    const options = { host, mode: "apply" as const, barriers: async () => true, sign: signer, journal: false };
    await runSteps(buildSteps(manifest({ roles: ["service"] })), options);
    host.actions.length = 0;
    const relabelled = manifest({ roles: ["service"] });
    relabelled.kubelet.nodeLabels["sprout.dev/pool"] = "blue";
    await runSteps(buildSteps(relabelled), options);
    expect(host.actions).toEqual(["daemon-reload", "restart kubelet.service"]);
  });
});

describe("certificate steps", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-certs-"));
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(join(root, "lib/systemd/system/containerd.service"), "[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("gives a master its control-plane identities: keys made on the node (0600), certificates from the right CA", async () => {
    const summary = await runSteps(buildSteps(manifest({ roles: ["master"] })), { host: new RealHost({ root }), mode: "apply", barriers: async () => true, sign: signer });
    expect(summary.failed).toBe(0);
    const { X509Certificate } = await import("node:crypto");
    const cert = async (p: string) => new X509Certificate(await readFile(join(root, p)));
    const apiserver = await cert("etc/kubernetes/pki/apiserver.crt");
    expect(apiserver.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    expect(apiserver.checkIP("10.96.0.1")).toBe("10.96.0.1");
    const etcd = await cert("etc/kubernetes/pki/etcd/server.crt");
    expect(etcd.verify(new X509Certificate(pki.etcdCa.certPem).publicKey)).toBe(true);
    for (const key of ["apiserver.key", "etcd/server.key", "kube-proxy.key", "master-admin.key"]) {
      expect((await stat(join(root, "etc/kubernetes/pki", key))).mode & 0o777).toBe(0o600);
    }
  });

  it("plans certificates without asking the coordinator to sign anything", async () => {
    let asked = 0;
    const summary = await runSteps(buildSteps(manifest({ roles: ["master"] })), { host: new RealHost({ root }), mode: "plan", barriers: async () => true, sign: async (p, c) => (asked++, signer(p, c)) });
    expect(summary.outcomes["certs/kube-apiserver"]?.outcome).toBe("wouldChange");
    expect(asked).toBe(0);
  });
});

describe("pod network and offline images", () => {
  it("gives the CNI bridge the node's own pod CIDR and makes the kubelet wait for it and the pause image", () => {
    const m = manifest({ roles: ["service"] });
    const steps = buildSteps(m);
    const cni = steps.find((s) => s.id === "cni/config") as StepOf<"file">;
    const conf = JSON.parse(cni.content) as { plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[] };
    expect(conf.plugins[0]!.type).toBe("bridge");
    expect(conf.plugins[0]!.ipam!.ranges[0]![0]!.subnet).toBe(m.node.podCidr);
    const kubelet = steps.find((s) => s.id === "kubelet/service")!;
    expect(kubelet.dependsOn).toEqual(expect.arrayContaining(["cni/config", "images/import"]));
    const importUnit = steps.find((s) => s.id === "images/import-unit") as StepOf<"file">;
    expect(importUnit.content).toContain("ctr --namespace k8s.io images import");
  });
});

describe("routes to peers and kube-proxy", () => {
  it("routes each peer's pod CIDR via its address, and runs kube-proxy with its own identity once the API server is known", () => {
    const m = manifest({ roles: ["service"] });
    m.peers = [{ name: "master-1", address: "10.240.0.10", podCidr: "10.244.0.0/24" }, { name: "svc-2", address: "10.240.0.12", podCidr: "10.244.2.0/24" }];
    const steps = buildSteps(m);
    const routes = steps.filter((s): s is StepOf<"route"> => s.kind === "route");
    expect(routes.map((r) => [r.destination, r.via])).toEqual([["10.244.0.0/24", "10.240.0.10"], ["10.244.2.0/24", "10.240.0.12"]]);
    const unit = steps.find((s) => s.id === "kube-proxy/unit-file") as StepOf<"file">;
    expect(unit.content).toContain("--proxy-mode=iptables");
    expect(unit.content).toContain("--conntrack-max-per-core=0");
    // The node IP from the manifest, so kube-proxy programs rules without waiting for its Node object.
    expect(unit.content).toContain("--bind-address=10.240.0.11");
    expect((steps.find((s) => s.id === "kube-proxy/kubeconfig") as StepOf<"file">).content).toContain("/etc/kubernetes/pki/kube-proxy.crt");
    expect(steps.find((s) => s.id === "kube-proxy/service")!.dependsOn).toEqual(expect.arrayContaining(["certs/kube-proxy", "kubelet/wait-apiserver"]));
    expect(buildSteps(manifest({ roles: ["service"], apiServerEndpoint: false })).some((s) => s.id.startsWith("kube-proxy/"))).toBe(false);
  });
});

describe("every Kubernetes minor in the version matrix", () => {
  // One row per supported minor: what the agent must render differently, checked for each.
  it.each(Object.keys(SUPPORTED_MINORS).map((minor) => `${minor}.0`))("renders %s: containerd config version, kubelet runtime flag, control-plane flags, a valid plan", (version) => {
    const support = minorSupport(version)!;
    const [, minor] = version.split(".").map(Number) as [number, number];
    const worker = manifest({ version });
    const steps = buildSteps(worker);
    expect(() => validatePlan(steps)).not.toThrow();
    const containerd = fileStep(steps, "containerd/config").content;
    expect(containerd).toContain(`version = ${support.containerdConfigVersion}`);
    // containerd 2.x moved the CRI plugin; 1.x's name must not appear in a version 3 file and vice versa.
    expect(containerd.includes("io.containerd.grpc.v1.cri")).toBe(support.containerdConfigVersion === 2);
    const unit = execStart(renderKubeletUnit(worker));
    expect(unit.includes("--container-runtime=remote")).toBe(minor < 27);
    expect(parseYaml(renderKubeletConfig(worker)).apiVersion).toBe(support.kubeletConfigApi);
    const master = buildSteps(manifest({ version, roles: ["master"] }));
    expect(() => validatePlan(master)).not.toThrow();
    const scheduler = master.find((s) => s.id === "control-plane/kube-scheduler") as StepOf<"systemdUnit"> | undefined;
    expect(scheduler?.content, "a kube-scheduler unit").toBeDefined();
    expect(execStart(scheduler!.content!).includes("--port=0")).toBe(minor < 24);
  });
});
