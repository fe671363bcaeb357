import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadOrCreateClusterPki, type ClusterPki } from "../../coordinator/pki/cluster-pki.js";
import { signProfileCertificate } from "../../coordinator/pki/profile-cert.js";
import type { CertProfileName } from "../../shared/cert-profiles.js";
import { NODE_PATHS, NodeManifest, type NodeManifestInput } from "../../shared/node-manifest.js";
import type { NodeRole } from "../../shared/roles.js";
import type { Step, StepOf } from "../../shared/steps.js";
import { runSteps } from "../executor/executor.js";
import { dependenciesOf, validatePlan } from "../executor/validate-plan.js";
import { RealHost } from "../host/real-host.js";
import { LiveLikeHost } from "../host/live-like-host.testing.js";
import { buildSteps } from "./index.js";
import { CONTROL_PLANE_STEPS as S, controlPlaneSteps, renderControlPlane } from "./control-plane/index.js";
import { READY_TIMEOUT_SECONDS } from "./control-plane/bootstrap.js";
import { DEFAULT_PORTS } from "./control-plane/layout.js";
import { parseExecStart, quoteArg, renderUnit } from "./systemd-unit.js";

let pki: ClusterPki;
let pkiDir: string;
beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), "sprout-cp-pki-"));
  pki = await loadOrCreateClusterPki(pkiDir);
});
afterAll(async () => {
  await rm(pkiDir, { recursive: true, force: true });
});

const ADDRESS = "10.240.0.11";
/** What the coordinator does for `POST /v1/certificates` for this master. */
const signer = async (profile: CertProfileName, csr: string) =>
  signProfileCertificate(pki, { profile, csr }, { name: "master-1", addresses: [ADDRESS], roles: ["master"] }, { serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local" });

/** A manifest as render-manifest.ts renders it. */
function manifest(o: { roles?: NodeRole[]; version?: string; address?: string } = {}): NodeManifest {
  const roles = o.roles ?? ["master", "edge"];
  const files: NodeManifestInput["files"] = [{ path: `${NODE_PATHS.kubePki}/ca.crt`, content: pki.caCertPem, mode: 0o644 }];
  if (roles.includes("master")) {
    files.push(
      { path: `${NODE_PATHS.kubePki}/etcd/ca.crt`, content: pki.etcdCa.certPem, mode: 0o644 },
      { path: `${NODE_PATHS.kubePki}/front-proxy-ca.crt`, content: pki.frontProxyCa.certPem, mode: 0o644 },
    );
  }
  files.push({ path: NODE_PATHS.kubeletKubeconfig, content: "apiVersion: v1\nkind: Config\n", mode: 0o600 });
  return NodeManifest.parse({
    apiVersion: "sprout.dev/v1alpha1",
    kind: "NodeManifest",
    revision: 3,
    cluster: {
      name: "demo",
      kubernetesVersion: o.version ?? "1.20.2",
      clusterDomain: "cluster.local",
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      dnsServiceIp: "10.96.0.10",
      apiServerEndpoint: `https://${ADDRESS}:6443`,
    },
    node: { name: roles.includes("master") ? "master-1" : "svc-1", roles, addresses: [o.address ?? ADDRESS], podCidr: "10.244.1.0/24" },
    files,
    kernel: { modules: ["overlay", "br_netfilter"], sysctls: { "net.ipv4.ip_forward": "1" } },
    containerd: { sandboxImage: "registry.k8s.io/pause:3.2" },
    kubelet: { maxPods: 110, nodeLabels: { "sprout.dev/role-master": "" }, registerWithTaints: [] },
  } satisfies NodeManifestInput);
}

const byId = (steps: Step[], id: string): Step => {
  const s = steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in ${steps.map((x) => x.id).join(", ")}`);
  return s;
};
const unitStep = (steps: Step[], id: string) => byId(steps, id) as StepOf<"systemdUnit">;
function ancestors(steps: Step[], id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (x: string) => {
    for (const d of dependenciesOf(byId(steps, x))) if (!seen.has(d)) (seen.add(d), visit(d));
  };
  visit(id);
  return seen;
}

/** `--name=value` flags of a command line as a map (the binary is dropped). */
function flagMap(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of argv.slice(1)) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`not a --flag=value argument: ${a}`);
    expect(out, `--${m[1]} given twice`).not.toHaveProperty(m[1]!);
    out[m[1]!] = m[2]!;
  }
  return out;
}
const argvOf = (unit: string) => parseExecStart(unit)[0]!;
const PKI = "/etc/kubernetes/pki";

describe("control-plane steps: the plan", () => {
  it.each(["1.20.2", "1.30.4", "1.31.0", "1.33.0"])("validates for a %s master: unique ids, known dependencies, no cycle", (version) => {
    const steps = buildSteps(manifest({ version }));
    expect(() => validatePlan(steps)).not.toThrow();
    expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
    for (const s of steps) for (const d of dependenciesOf(s)) expect(steps.some((x) => x.id === d), `${s.id} → ${d}`).toBe(true);
    for (const id of Object.values(S)) expect(steps.some((s) => s.id === id), id).toBe(true);
  });

  it("adds nothing to a node that is not a master", () => {
    for (const roles of [["service"], ["storage"], ["edge"]] as NodeRole[][]) {
      expect(controlPlaneSteps(manifest({ roles }))).toEqual([]);
      expect(buildSteps(manifest({ roles })).some((s) => s.id.startsWith("control-plane/"))).toBe(false);
    }
  });

  it("starts each component after its certificates and CA files, and restarts it when they change", () => {
    const steps = buildSteps(manifest());
    const expectInputs = (id: string, inputs: string[], alsoAfter: string[] = []) => {
      const u = unitStep(steps, id);
      expect(u.restartOnChangeOf.sort()).toEqual([...inputs].sort());
      expect(u.dependsOn.sort()).toEqual([...inputs, ...alsoAfter].sort());
    };
    expectInputs(S.etcd, ["certs/etcd-server", "certs/etcd-peer", `files${PKI}/etcd/ca.crt`], [S.etcdDataDir]);
    expectInputs(
      S.apiServer,
      ["certs/kube-apiserver", "certs/apiserver-kubelet-client", "certs/apiserver-etcd-client", "certs/front-proxy-client", S.serviceAccountKey, `files${PKI}/ca.crt`, `files${PKI}/etcd/ca.crt`, `files${PKI}/front-proxy-ca.crt`],
      [S.etcd],
    );
    expectInputs(S.controllerManager, [S.controllerManagerKubeconfig, "certs/kube-controller-manager", S.serviceAccountKey, `files${PKI}/ca.crt`, `files${PKI}/front-proxy-ca.crt`], [S.apiServer]);
    expectInputs(S.scheduler, [S.schedulerKubeconfig, "certs/kube-scheduler", `files${PKI}/ca.crt`], [S.apiServer]);
    // Certificates themselves wait for their CA file and directory (certificates.ts).
    expect(ancestors(steps, S.apiServer).has("dirs/kubernetes-pki")).toBe(true);
    expect(ancestors(steps, S.etcd).has("dirs/etcd-pki")).toBe(true);
  });

  it("gates on the API server last: only the RBAC step waits for the gate, and the kubelet waits for no control-plane step", () => {
    const steps = buildSteps(manifest());
    const ready = unitStep(steps, S.apiServerReady);
    expect(ready).toMatchObject({ kind: "systemdUnit", name: "sprout-apiserver-ready.service", enabled: false, state: "running", restartOnChangeOf: [S.apiServer] });
    expect(ready.dependsOn).toEqual(expect.arrayContaining([S.apiServer, S.masterAdminKubeconfig, "certs/master-admin"]));
    const dependants = steps.filter((s) => dependenciesOf(s).includes(S.apiServerReady)).map((s) => s.id);
    expect(dependants).toEqual([S.bootstrapRbac]);
    expect(steps.filter((s) => dependenciesOf(s).includes(S.bootstrapRbac))).toEqual([]);
    expect(unitStep(steps, S.bootstrapRbac).dependsOn).toEqual([S.apiServerReady, S.bootstrapRbacManifest]);
    expect([...ancestors(steps, "kubelet/service")].filter((id) => id.startsWith("control-plane/"))).toEqual([]);
    // The master's kubelet still does not wait for a barrier (kubelet.ts).
    expect(steps.some((s) => s.kind === "waitFor")).toBe(false);
  });

  it("generates the service-account signing key on the master as a certificate step (key 0600 on the node, no command)", () => {
    const steps = buildSteps(manifest());
    expect(byId(steps, S.serviceAccountKey)).toMatchObject({
      kind: "certificate",
      profile: "kube-proxy",
      keyPath: `${PKI}/sa.key`,
      certPath: `${PKI}/sa.crt`,
      caPath: `${PKI}/ca.crt`,
      dependsOn: [`files${PKI}/ca.crt`, "dirs/kubernetes-pki"],
    });
    expect(steps.some((s) => s.kind === "command")).toBe(false);
  });

  it("references only files that some step of the plan writes", () => {
    const steps = buildSteps(manifest());
    const written = new Set<string>();
    for (const s of steps) {
      if (s.kind === "file" || s.kind === "directory") written.add(s.path);
      if (s.kind === "certificate") [s.keyPath, s.certPath, s.caPath].forEach((p) => written.add(p));
    }
    const r = renderControlPlane(manifest());
    const texts = [...Object.values(r.units).map((u) => u.content), ...Object.values(r.files).map((f) => f.content)];
    const referenced = new Set(texts.flatMap((t) => [...t.matchAll(/(\/etc\/kubernetes\/[A-Za-z0-9_./-]+|\/var\/lib\/etcd)\b/g)].map((m) => m[1]!)));
    expect(referenced.size).toBeGreaterThan(15);
    for (const p of referenced) expect(written.has(p), p).toBe(true);
  });
});

describe("control-plane units", () => {
  it("runs etcd as a single-member cluster named after the node, with mutual TLS for clients and peers", () => {
    const unit = renderControlPlane(manifest()).units.etcd;
    expect(unit.name).toBe("etcd.service"); // replaces Debian's unit of the same name
    expect(unit.content).toMatch(/^Type=notify$/m);
    expect(unit.content).toMatch(/\[Install\]\nWantedBy=multi-user.target\n$/);
    const argv = argvOf(unit.content);
    expect(argv[0]).toBe("/usr/bin/etcd");
    expect(flagMap(argv)).toEqual({
      name: "master-1",
      "data-dir": "/var/lib/etcd",
      "listen-client-urls": `https://127.0.0.1:2379,https://${ADDRESS}:2379`,
      "advertise-client-urls": `https://${ADDRESS}:2379`,
      "listen-peer-urls": `https://${ADDRESS}:2380`,
      "initial-advertise-peer-urls": `https://${ADDRESS}:2380`,
      "initial-cluster": `master-1=https://${ADDRESS}:2380`,
      "initial-cluster-state": "new",
      "initial-cluster-token": "demo",
      "listen-metrics-urls": "http://127.0.0.1:2381",
      "cert-file": `${PKI}/etcd/server.crt`,
      "key-file": `${PKI}/etcd/server.key`,
      "client-cert-auth": "true",
      "trusted-ca-file": `${PKI}/etcd/ca.crt`,
      "peer-cert-file": `${PKI}/etcd/peer.crt`,
      "peer-key-file": `${PKI}/etcd/peer.key`,
      "peer-client-cert-auth": "true",
      "peer-trusted-ca-file": `${PKI}/etcd/ca.crt`,
      "snapshot-count": "10000",
      logger: "zap",
    });
    // A loopback node address must not make etcd listen twice on one socket.
    expect(flagMap(argvOf(renderControlPlane(manifest({ address: "127.0.0.1" })).units.etcd.content))["listen-client-urls"]).toBe("https://127.0.0.1:2379");
  });

  it("gives kube-apiserver kubeadm's certificates, etcd over TLS, Node+RBAC and the master's service-account key", () => {
    const unit = renderControlPlane(manifest()).units.apiServer;
    expect(unit.name).toBe("kube-apiserver.service");
    expect(unit.content).toMatch(/^After=network-online.target etcd.service$/m);
    const argv = argvOf(unit.content);
    expect(argv[0]).toBe("/usr/local/bin/kube-apiserver");
    expect(flagMap(argv)).toEqual({
      "advertise-address": ADDRESS,
      "bind-address": "0.0.0.0",
      "secure-port": "6443",
      "allow-privileged": "true",
      "authorization-mode": "Node,RBAC",
      "enable-admission-plugins": "NodeRestriction",
      "client-ca-file": `${PKI}/ca.crt`,
      "tls-cert-file": `${PKI}/apiserver.crt`,
      "tls-private-key-file": `${PKI}/apiserver.key`,
      "etcd-servers": "https://127.0.0.1:2379",
      "etcd-cafile": `${PKI}/etcd/ca.crt`,
      "etcd-certfile": `${PKI}/apiserver-etcd-client.crt`,
      "etcd-keyfile": `${PKI}/apiserver-etcd-client.key`,
      "kubelet-client-certificate": `${PKI}/apiserver-kubelet-client.crt`,
      "kubelet-client-key": `${PKI}/apiserver-kubelet-client.key`,
      "kubelet-certificate-authority": `${PKI}/ca.crt`,
      "kubelet-preferred-address-types": "InternalIP",
      "service-cluster-ip-range": "10.96.0.0/12",
      "service-account-key-file": `${PKI}/sa.crt`,
      "service-account-signing-key-file": `${PKI}/sa.key`,
      "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
      "requestheader-client-ca-file": `${PKI}/front-proxy-ca.crt`,
      "requestheader-allowed-names": "front-proxy-client",
      "requestheader-username-headers": "X-Remote-User",
      "requestheader-group-headers": "X-Remote-Group",
      "requestheader-extra-headers-prefix": "X-Remote-Extra-",
      "proxy-client-cert-file": `${PKI}/front-proxy-client.crt`,
      "proxy-client-key-file": `${PKI}/front-proxy-client.key`,
      "enable-aggregator-routing": "true",
    });
  });

  it("runs the controller manager without CSR signing or node IPAM, with per-controller service-account credentials", () => {
    const flags = flagMap(argvOf(renderControlPlane(manifest()).units.controllerManager.content));
    expect(flags).toEqual({
      kubeconfig: "/etc/kubernetes/controller-manager.conf",
      "authentication-kubeconfig": "/etc/kubernetes/controller-manager.conf",
      "authorization-kubeconfig": "/etc/kubernetes/controller-manager.conf",
      "bind-address": "127.0.0.1",
      "secure-port": "10257",
      port: "0",
      "leader-elect": "true",
      "cluster-name": "demo",
      "client-ca-file": `${PKI}/ca.crt`,
      "requestheader-client-ca-file": `${PKI}/front-proxy-ca.crt`,
      "root-ca-file": `${PKI}/ca.crt`,
      "service-account-private-key-file": `${PKI}/sa.key`,
      "use-service-account-credentials": "true",
      "allocate-node-cidrs": "false",
      "cluster-cidr": "10.244.0.0/16",
      "service-cluster-ip-range": "10.96.0.0/12",
      controllers: "*,-persistentvolume-expander",
    });
    expect(Object.keys(flags).some((f) => f.startsWith("cluster-signing"))).toBe(false);
  });

  it("runs the scheduler with its kubeconfig on loopback", () => {
    expect(flagMap(argvOf(renderControlPlane(manifest()).units.scheduler.content))).toEqual({
      kubeconfig: "/etc/kubernetes/scheduler.conf",
      "authentication-kubeconfig": "/etc/kubernetes/scheduler.conf",
      "authorization-kubeconfig": "/etc/kubernetes/scheduler.conf",
      "bind-address": "127.0.0.1",
      "secure-port": "10259",
      port: "0",
      "leader-elect": "true",
    });
  });

  it("differs between 1.20 and 1.30 only by --port=0 (insecure serving is off by flag up to 1.23; the flag is gone since 1.24) and the volume expander (1.20's grows in-tree glusterfs volumes; Sprout's provisioner does)", () => {
    const old = renderControlPlane(manifest({ version: "1.20.2" }));
    for (const version of ["1.30.4", "1.33.0"]) {
      const current = renderControlPlane(manifest({ version }));
      for (const key of ["etcd", "apiServer", "ready", "rbac"] as const) expect(current.units[key].content, key).toBe(old.units[key].content);
      for (const key of ["controllerManager", "scheduler"] as const) {
        const a = argvOf(old.units[key].content);
        const b = argvOf(current.units[key].content);
        expect(a.filter((x) => !b.includes(x)), key).toEqual(key === "controllerManager" ? ["--port=0", "--controllers=*,-persistentvolume-expander"] : ["--port=0"]);
        expect(b.filter((x) => !a.includes(x)), key).toEqual([]);
      }
      expect(current.files).toEqual(old.files);
    }
    // Both minors carry the service-account flags 1.20 made mandatory.
    for (const version of ["1.20.2", "1.30.4"]) {
      expect(Object.keys(flagMap(argvOf(renderControlPlane(manifest({ version })).units.apiServer.content)))).toEqual(
        expect.arrayContaining(["service-account-issuer", "service-account-key-file", "service-account-signing-key-file"]),
      );
    }
  });

  it("writes kubeconfigs for the local API server that name each component's key and certificate (0600)", () => {
    const r = renderControlPlane(manifest());
    const cases = [
      [r.files.controllerManagerKubeconfig, "/etc/kubernetes/controller-manager.conf", "controller-manager", "system:kube-controller-manager"],
      [r.files.schedulerKubeconfig, "/etc/kubernetes/scheduler.conf", "scheduler", "system:kube-scheduler"],
      [r.files.masterAdminKubeconfig, "/etc/kubernetes/master-admin.conf", "master-admin", "sprout-master-admin"],
    ] as const;
    for (const [f, path, base, user] of cases) {
      expect(f.path).toBe(path);
      expect(f.mode).toBe(0o600);
      const k = parseYaml(f.content) as Record<string, any>;
      expect(k).toMatchObject({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "demo", cluster: { server: "https://127.0.0.1:6443", "certificate-authority": `${PKI}/ca.crt` } }],
        users: [{ name: user, user: { "client-certificate": `${PKI}/${base}.crt`, "client-key": `${PKI}/${base}.key` } }],
        "current-context": `${user}@demo`,
      });
    }
  });

  it("gates on /readyz with the master's admin identity, within the step's deadline, and applies kube-proxy's binding", () => {
    const r = renderControlPlane(manifest());
    const ready = r.units.ready.content;
    expect(ready).toMatch(/^Type=oneshot$/m);
    expect(ready).toMatch(/^RemainAfterExit=yes$/m);
    expect(READY_TIMEOUT_SECONDS).toBeLessThan(300); // the systemdUnit step's default deadline
    expect(parseExecStart(ready)).toEqual([
      ["/bin/sh", "-c", "until /usr/bin/kubectl --kubeconfig=/etc/kubernetes/master-admin.conf --request-timeout=5s get --raw=/readyz >/dev/null; do sleep 1; done"],
    ]);
    expect(parseExecStart(r.units.rbac.content)).toEqual([["/usr/bin/kubectl", "--kubeconfig=/etc/kubernetes/master-admin.conf", "apply", "--filename=/etc/kubernetes/sprout/bootstrap-rbac.yaml"]]);
    expect(r.units.rbac.content).toMatch(/^After=sprout-apiserver-ready.service$/m);
    const objects = parseAllDocuments(r.files.bootstrapRbac.content).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(objects[0]).toEqual({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "sprout:kube-proxy", labels: { "app.kubernetes.io/managed-by": "sprout" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node-proxier" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:kube-proxy" }],
    });
    // The edge controller's read access and the default IngressClass, the node-role labeller's
    // access to Nodes, cluster DNS's reads and its kube-dns Service, metrics.k8s.io through the
    // aggregator; no storage without storage nodes.
    expect(objects.slice(1).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ClusterRole/sprout:edge",
      "ClusterRoleBinding/sprout:edge",
      "IngressClass/sprout",
      "ClusterRole/sprout:node-roles",
      "ClusterRoleBinding/sprout:node-roles",
      "ClusterRole/sprout:cluster-dns",
      "ClusterRoleBinding/sprout:cluster-dns",
      "Service/kube-dns",
      "ClusterRole/sprout:metrics",
      "ClusterRoleBinding/sprout:metrics",
      "Role/sprout:metrics",
      "RoleBinding/sprout:metrics",
      "ClusterRole/system:aggregated-metrics-reader",
      "Service/sprout-metrics",
      "APIService/v1beta1.metrics.k8s.io",
      "ClusterRole/sprout:local-storage",
      "ClusterRoleBinding/sprout:local-storage",
      "StorageClass/sprout-local",
      "ClusterRole/sprout:shared-storage",
      "ClusterRoleBinding/sprout:shared-storage",
      "StorageClass/sprout-shared",
      "StorageClass/sprout-reference",
    ]);
    const apiService = objects.find((o) => o.kind === "APIService") as unknown as { spec: { caBundle: string; service: object } };
    expect(Buffer.from(apiService.spec.caBundle, "base64").toString()).toBe(manifest().files.find((f) => f.path === `${PKI}/ca.crt`)!.content);
    expect(apiService.spec.service).toEqual({ name: "sprout-metrics", namespace: "kube-system", port: 443 });
    expect(objects.find((o) => o.kind === "Service" && o.metadata.name === "kube-dns")).toMatchObject({ metadata: { namespace: "kube-system" }, spec: { clusterIP: manifest().cluster.dnsServiceIp } });
    expect(objects.find((o) => o.kind === "ClusterRole" && o.metadata.name === "sprout:node-roles")).toMatchObject({ rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "patch"] }] });
  });

  it("renders the same control plane under a directory prefix, on other ports, with other binaries", () => {
    const ports = { etcdClient: 12379, etcdPeer: 12380, etcdMetrics: 12381, apiServer: 16443, controllerManager: 20257, scheduler: 20259 };
    const r = renderControlPlane(manifest(), { root: "/tmp/x/", ports, binDir: "/opt/k8s", etcdBinary: "/opt/etcd", kubectlBinary: "/opt/kubectl", apiServerBindAddress: "127.0.0.1" });
    const all = [...Object.values(r.units).map((u) => u.content), ...Object.values(r.files).map((f) => f.content)].join("\n");
    expect(all).not.toMatch(/(^|[=\s,'"])\/(etc|var)\//m);
    for (const p of Object.values(DEFAULT_PORTS)) expect(all).not.toContain(`:${p}`);
    expect(argvOf(r.units.apiServer.content)).toEqual(expect.arrayContaining(["/opt/k8s/kube-apiserver", "--secure-port=16443", "--bind-address=127.0.0.1", "--tls-cert-file=/tmp/x/etc/kubernetes/pki/apiserver.crt", "--etcd-servers=https://127.0.0.1:12379"]));
    expect(argvOf(r.units.etcd.content)[0]).toBe("/opt/etcd");
    expect(parseYaml(r.files.schedulerKubeconfig.content).clusters[0].cluster.server).toBe("https://127.0.0.1:16443");
    // Where the files go on the node does not move: only what they reference.
    expect(r.files.schedulerKubeconfig.path).toBe("/etc/kubernetes/scheduler.conf");
    expect(() => renderControlPlane(manifest(), { root: "relative" })).toThrow(/absolute/);
  });
});

describe("unit rendering", () => {
  it("round-trips every argument through ExecStart and refuses what systemd would rewrite", () => {
    const args = ["/bin/x", "--a=b,c", "plain", "with space", "", "semi; colon >/dev/null"];
    expect(parseExecStart(renderUnit({ description: "t", service: [], execStart: [args, ["/bin/y"]] }))).toEqual([args, ["/bin/y"]]);
    for (const bad of ["100%", "$HOME", "a\\b", "it's", 'say "hi"', "two\nlines"]) expect(() => quoteArg(bad), bad).toThrow(/systemd would rewrite/);
  });
});

describe("control-plane steps on a rootfs with the real executor", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-cp-root-"));
    // What the image contributes: containerd's unit, and Debian's etcd unit (which build-rootfs.sh
    // leaves disabled).
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(join(root, "lib/systemd/system/containerd.service"), "[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n");
    await writeFile(join(root, "lib/systemd/system/etcd.service"), "[Service]\nUser=etcd\nExecStart=/usr/bin/etcd $DAEMON_ARGS\n\n[Install]\nWantedBy=multi-user.target\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const at = (p: string) => join(root, p);
  const mode = async (p: string) => (await stat(at(p))).mode & 0o7777;

  it.each(["1.20.2", "1.31.0"])("configures a %s master's control plane offline, then a second run changes nothing", async (version) => {
    const m = manifest({ version });
    const steps = buildSteps(m);
    const options = { host: new RealHost({ root }), mode: "apply" as const, barriers: async () => true, sign: signer, backoff: { initialMs: 1, maxMs: 5 } };
    const first = await runSteps(steps, options);
    // Debian's unbound instance is off already where the package is not installed.
    expect(Object.entries(first.outcomes).filter(([id, r]) => r.outcome !== "changed" && id !== "cluster-dns/debian-unbound")).toEqual([]);

    const r = renderControlPlane(m);
    for (const u of Object.values(r.units)) {
      expect(await readFile(at(`etc/systemd/system/${u.name}`), "utf8"), u.name).toBe(u.content);
      expect(await mode(`etc/systemd/system/${u.name}`), u.name).toBe(0o644);
    }
    for (const f of Object.values(r.files)) {
      expect(await readFile(at(f.path), "utf8"), f.path).toBe(f.content);
      expect(await mode(f.path), f.path).toBe(f.mode);
    }
    expect(await mode("var/lib/etcd")).toBe(0o700);
    expect(await mode("etc/kubernetes/pki/etcd")).toBe(0o700);
    for (const key of ["sa.key", "apiserver.key", "apiserver-etcd-client.key", "front-proxy-client.key", "etcd/server.key", "etcd/peer.key", "controller-manager.key", "scheduler.key", "master-admin.key"]) {
      expect(await mode(`etc/kubernetes/pki/${key}`), key).toBe(0o600);
    }
    // The service-account key was made here and its certificate carries its public key.
    const saCert = new X509Certificate(await readFile(at("etc/kubernetes/pki/sa.crt")));
    const saKey = createPrivateKey(await readFile(at("etc/kubernetes/pki/sa.key")));
    expect(saCert.publicKey.export({ type: "spki", format: "der" }).equals(createPublicKey(saKey).export({ type: "spki", format: "der" }))).toBe(true);
    expect(saCert.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    expect(saKey.asymmetricKeyType).toBe("rsa");

    // The four components start at boot, etcd from our unit, which shadows Debian's.
    for (const name of ["etcd.service", "kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"]) {
      expect(await readlink(at(`etc/systemd/system/multi-user.target.wants/${name}`)), name).toBe(`/etc/systemd/system/${name}`);
    }
    // The gate and the RBAC unit are the agent's to start, never boot's.
    for (const name of ["sprout-apiserver-ready.service", "sprout-bootstrap-rbac.service"]) {
      await expect(lstat(at(`etc/systemd/system/multi-user.target.wants/${name}`))).rejects.toMatchObject({ code: "ENOENT" });
    }

    const second = await runSteps(steps, options);
    expect(Object.entries(second.outcomes).filter(([, r]) => r.outcome !== "unchanged")).toEqual([]);
    expect(second.changed).toBe(0);
  });
});

describe("control-plane steps on a live machine", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-cp-live-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("starts etcd, then the API server, then the gate, then applies RBAC; restarts the API server and re-checks the gate when a certificate changes", async () => {
    const host = new LiveLikeHost({ root });
    const options = { host, mode: "apply" as const, barriers: async () => true, sign: signer, journal: false };
    const steps = buildSteps(manifest());
    const first = await runSteps(steps, options);
    expect(first.failed).toBe(0);
    const starts = host.actions.filter((a) => a.startsWith("start ")).map((a) => a.slice(6));
    const order = (name: string) => starts.indexOf(name);
    expect(order("etcd.service")).toBeGreaterThan(-1);
    expect(order("etcd.service")).toBeLessThan(order("kube-apiserver.service"));
    expect(order("kube-apiserver.service")).toBeLessThan(order("kube-controller-manager.service"));
    expect(order("kube-apiserver.service")).toBeLessThan(order("kube-scheduler.service"));
    expect(order("kube-apiserver.service")).toBeLessThan(order("sprout-apiserver-ready.service"));
    expect(order("sprout-apiserver-ready.service")).toBeLessThan(order("sprout-bootstrap-rbac.service"));
    expect(host.actions).not.toContain("enable sprout-apiserver-ready.service");

    host.actions.length = 0;
    expect((await runSteps(steps, options)).changed).toBe(0);
    expect(host.actions).toEqual([]);

    // The API server's serving certificate goes missing: re-issued, the API server restarted, and
    // the gate run again against the restarted server. Nothing else moves.
    await unlink(join(root, "etc/kubernetes/pki/apiserver.crt"));
    const renewed = await runSteps(steps, options);
    expect(Object.entries(renewed.outcomes).filter(([, r]) => r.outcome === "changed").map(([id]) => id).sort()).toEqual(["certs/kube-apiserver", S.apiServer, S.apiServerReady].sort());
    expect(host.actions).toEqual(["daemon-reload", "restart kube-apiserver.service", "daemon-reload", "restart sprout-apiserver-ready.service"]);
  });
});
