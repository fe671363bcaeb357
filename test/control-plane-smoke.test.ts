import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateClusterPki, type ClusterPki } from "../coordinator/pki/cluster-pki.js";
import { signProfileCertificate } from "../coordinator/pki/profile-cert.js";
import type { CertProfileName } from "../shared/cert-profiles.js";
import { NODE_PATHS, NodeManifest } from "../shared/node-manifest.js";
import { buildSteps } from "../agent/builders/index.js";
import { renderControlPlane, type RenderedControlPlane } from "../agent/builders/control-plane/index.js";
import { DEFAULT_PORTS, type ControlPlanePorts } from "../agent/builders/control-plane/layout.js";
import { parseExecStart } from "../agent/builders/systemd-unit.js";
import { runSteps } from "../agent/executor/executor.js";
import { RealHost } from "../agent/host/real-host.js";
import { run, sleep, testNodeImage, waitFor } from "./support/harness.js";

/**
 * The control plane a master's agent configures, started for real on this machine: the agent's
 * own steps lay out a node root (real PKI, keys made by the certificate steps, kubeconfigs,
 * units), then etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as plain
 * child processes with exactly the argv of the rendered units — rendered for that root, on free
 * loopback ports — and so do the readiness gate and the bootstrap RBAC unit's commands. etcd is
 * the node image's own (the one masters run), so the host needs no etcd of its own.
 * Nothing listens beyond 127.0.0.1; everything is killed and removed at the end.
 */
const REPO = resolve(import.meta.dirname, "..");
const NODE = "master-1";
const CLUSTER = { serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local" };

function kubernetesBinDir(): string {
  return execFileSync(join(REPO, "image-build/kubernetes-binaries.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

/** Distinct free loopback ports: all are held open until every one is chosen. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once("error", fail);
      s.listen(0, "127.0.0.1", () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

function masterManifest(pki: ClusterPki): NodeManifest {
  return NodeManifest.parse({
    apiVersion: "sprout.dev/v1alpha1",
    kind: "NodeManifest",
    revision: 1,
    cluster: { name: "smoke", kubernetesVersion: "1.20.2", clusterDomain: CLUSTER.clusterDomain, podCidr: "10.244.0.0/16", serviceCidr: CLUSTER.serviceCidr, dnsServiceIp: "10.96.0.10", apiServerEndpoint: "https://127.0.0.1:6443" },
    node: { name: NODE, roles: ["master"], addresses: ["127.0.0.1"], podCidr: "10.244.0.0/24" },
    files: [
      { path: `${NODE_PATHS.kubePki}/ca.crt`, content: pki.caCertPem, mode: 0o644 },
      { path: `${NODE_PATHS.kubePki}/etcd/ca.crt`, content: pki.etcdCa.certPem, mode: 0o644 },
      { path: `${NODE_PATHS.kubePki}/front-proxy-ca.crt`, content: pki.frontProxyCa.certPem, mode: 0o644 },
    ],
    kernel: { modules: [], sysctls: {} },
    containerd: { sandboxImage: "registry.k8s.io/pause:3.2" },
    kubelet: { maxPods: 110, nodeLabels: {}, registerWithTaints: [] },
  });
}

/** Runs a command to its end, killing it after `timeoutMs`. */
function runFor(argv: string[], timeoutMs: number): Promise<{ code: number | string; output: string; readyzAtExit?: number; seconds: number }> {
  return new Promise((done) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => (output += String(d)));
    child.stderr!.on("data", (d) => (output += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? signal ?? "?", output, seconds: 0 });
    });
  });
}

interface Component {
  name: string;
  child: ChildProcess;
  log: string;
  exited?: number | string;
}

describe("control plane smoke: the rendered units, started for real on loopback", () => {
  const started = Date.now();
  let tmp = "";
  let root = "";
  let pki: ClusterPki;
  let manifest: NodeManifest;
  let ports: ControlPlanePorts;
  let binDir = "";
  let etcdBinary = "";
  let rendered: RenderedControlPlane;
  const components: Component[] = [];
  let tls: Agent;
  let gate: Awaited<ReturnType<typeof runFor>>;

  const file = (nodePath: string) => join(root, nodePath);
  const kubectl = (...args: string[]) => run("kubectl", [`--kubeconfig=${file(rendered.files.masterAdminKubeconfig.path)}`, ...args]);
  const logTails = async () =>
    (await Promise.all(components.map(async (c) => `--- ${c.name} (exit ${c.exited ?? "running"}) ---\n${(await readFile(c.log, "utf8").catch(() => "")).slice(-2500)}`))).join("\n");

  function start(name: string, argv: string[]): Component {
    const log = join(tmp, `${name}.log`);
    const fd = openSync(log, "a");
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const c: Component = { name, child, log };
    // Should the test process itself be ended without running afterAll, take the components along.
    process.once("exit", () => c.exited === undefined && child.kill("SIGKILL"));
    child.once("exit", (code, signal) => (c.exited = code ?? signal ?? "?"));
    components.push(c);
    return c;
  }

  async function https(port: number, path: string, opts: { admin?: boolean; bearer?: string; verify?: boolean } = {}) {
    const dispatcher = opts.admin
      ? tls
      : new Agent({ connect: opts.verify === false ? { rejectUnauthorized: false } : { ca: await readFile(file(`${NODE_PATHS.kubePki}/ca.crt`), "utf8") } });
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher, headers: opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {} });
    const body = await res.body.text();
    if (dispatcher !== tls) await dispatcher.close();
    return { status: res.statusCode, body };
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sprout-cp-smoke-"));
    root = join(tmp, "node");
    binDir = kubernetesBinDir();
    etcdBinary = join((await testNodeImage()).root, "usr/bin/etcd");
    pki = await loadOrCreateClusterPki(join(tmp, "coordinator-pki"));
    manifest = masterManifest(pki);

    // 1. The agent's own steps lay out the node root offline, with certificates signed as the
    //    coordinator signs them for a master whose address is 127.0.0.1.
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(join(root, "lib/systemd/system/containerd.service"), "[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n");
    const sign = async (profile: CertProfileName, csr: string) =>
      signProfileCertificate(pki, { profile, csr }, { name: NODE, addresses: ["127.0.0.1"], roles: ["master"] }, CLUSTER);
    const summary = await runSteps(buildSteps(manifest), { host: new RealHost({ root }), mode: "apply", sign, barriers: async () => true, journal: false });
    expect(Object.entries(summary.outcomes).filter(([, r]) => r.outcome === "failed" || r.outcome === "skipped")).toEqual([]);

    // 2. The same renderers, for that root and free loopback ports.
    const [etcdClient, etcdPeer, etcdMetrics, apiServer, controllerManager, scheduler] = await freePorts(6);
    ports = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, etcdMetrics: etcdMetrics!, apiServer: apiServer!, controllerManager: controllerManager!, scheduler: scheduler! };
    rendered = renderControlPlane(manifest, { root, binDir, etcdBinary, ports, apiServerBindAddress: "127.0.0.1" });
    for (const f of Object.values(rendered.files)) await writeFile(file(f.path), f.content, { mode: f.mode });

    tls = new Agent({
      connect: {
        ca: await readFile(file(`${NODE_PATHS.kubePki}/ca.crt`), "utf8"),
        cert: await readFile(file(`${NODE_PATHS.kubePki}/master-admin.crt`), "utf8"),
        key: await readFile(file(`${NODE_PATHS.kubePki}/master-admin.key`), "utf8"),
      },
    });

    // 3. Start the components in the order the steps do; each must keep running.
    const argv = (u: keyof RenderedControlPlane["units"]) => parseExecStart(rendered.units[u].content)[0]!;
    start("etcd", argv("etcd"));
    start("kube-apiserver", argv("apiServer"));
    start("kube-controller-manager", argv("controllerManager"));
    start("kube-scheduler", argv("scheduler"));
    // The readiness gate's own command, started with them: it must return only once /readyz answers.
    const gateStarted = Date.now();
    const [gateArgv] = parseExecStart(rendered.units.ready.content);
    gate = await runFor(gateArgv!, 80_000);
    gate.readyzAtExit = (await https(ports.apiServer, "/readyz", { admin: true }).catch(() => undefined))?.status;
    gate.seconds = (Date.now() - gateStarted) / 1000;
    try {
      await waitFor(async () => {
        const dead = components.find((c) => c.exited !== undefined);
        if (dead) throw new Error(`${dead.name} exited with ${dead.exited}`);
        return (await https(ports.apiServer, "/readyz", { admin: true }).catch(() => undefined))?.status === 200;
      }, 20_000, "the API server's /readyz");
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await logTails()}`);
    }
  }, 120_000);

  afterAll(async () => {
    await tls?.close();
    // Reverse order: etcd last, so the others do not spend their last seconds retrying it.
    for (const c of [...components].reverse()) {
      if (c.exited !== undefined) continue;
      c.child.kill("SIGTERM");
      const deadline = Date.now() + 10_000;
      while (c.exited === undefined && Date.now() < deadline) await sleep(50);
      if (c.exited === undefined) c.child.kill("SIGKILL");
    }
    const keep = process.env.SPROUT_SMOKE_LOGS; // a directory to copy the component logs to, for debugging
    if (keep) for (const c of components) await cp(c.log, join(keep, `${c.name}.log`)).catch(() => {});
    if (tmp) await rm(tmp, { recursive: true, force: true });
    console.log(`control-plane smoke: ${((Date.now() - started) / 1000).toFixed(1)} s from start to cleanup`);
  }, 60_000);

  it("runs exactly the node's argv, with only the root, ports, bind address and binary directory substituted", async () => {
    const node = renderControlPlane(manifest);
    // The unit files the agent's steps wrote are the node renderings.
    for (const u of Object.values(node.units)) expect(await readFile(file(`/etc/systemd/system/${u.name}`), "utf8")).toBe(u.content);
    const portMap: [number, number][] = (Object.keys(DEFAULT_PORTS) as (keyof ControlPlanePorts)[]).map((k) => [DEFAULT_PORTS[k], ports[k]]);
    const toTest = (arg: string) => {
      let a = arg.replace(/^\/usr\/local\/bin\//, `${binDir}/`).replace(/^\/usr\/bin\/etcd$/, etcdBinary).replace(/(^|=|,)(\/etc\/kubernetes|\/var\/lib\/etcd)/g, `$1${root}$2`);
      for (const [from, to] of portMap) a = a.replace(new RegExp(`:${from}(?=$|,|/)`, "g"), `:${to}`).replace(new RegExp(`^(--secure-port=)${from}$`), `$1${to}`);
      return a.replace(/^--bind-address=0\.0\.0\.0$/, "--bind-address=127.0.0.1");
    };
    for (const key of ["etcd", "apiServer", "controllerManager", "scheduler", "ready", "rbac"] as const) {
      const expected = parseExecStart(node.units[key].content).map((cmd) => cmd.map(toTest));
      expect(parseExecStart(rendered.units[key].content), key).toEqual(expected);
    }
  });

  it("renders unit files systemd accepts (systemd-analyze verify)", async () => {
    const dir = join(tmp, "units");
    await mkdir(dir);
    for (const u of Object.values(rendered.units)) await writeFile(join(dir, u.name), u.content);
    const verify = await run("/usr/bin/systemd-analyze", ["verify", "--man=no", ...Object.values(rendered.units).map((u) => join(dir, u.name))]);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    expect(verify.stderr + verify.stdout).toBe("");
  });

  it("the readiness gate's command, started with the components, returns once /readyz answers", () => {
    expect(gate.code, gate.output.slice(-2000)).toBe(0);
    expect(gate.readyzAtExit).toBe(200);
    console.log(`control-plane smoke: the readiness gate passed ${gate.seconds.toFixed(1)} s after the components started`);
  });

  it("answers /healthz over TLS to the master-admin client certificate, and refuses anonymous reads", async () => {
    expect(await https(ports.apiServer, "/healthz", { admin: true })).toEqual({ status: 200, body: "ok" });
    expect([401, 403]).toContain((await https(ports.apiServer, "/api/v1/namespaces")).status);
    const ns = await kubectl("get", "--raw", "/api/v1/namespaces/kube-system");
    expect(ns.code, ns.stderr).toBe(0);
    expect(JSON.parse(ns.stdout)).toMatchObject({ kind: "Namespace", metadata: { name: "kube-system" } });
  });

  it("the bootstrap RBAC unit's command binds kube-proxy's identity to system:node-proxier, idempotently", async () => {
    const [apply] = parseExecStart(rendered.units.rbac.content);
    const first = await run(apply![0]!, apply!.slice(1));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/clusterrolebinding.rbac.authorization.k8s.io\/sprout:kube-proxy (created|configured)/);
    const again = await run(apply![0]!, apply!.slice(1));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/sprout:kube-proxy unchanged/);

    const got = await kubectl("get", "clusterrolebinding", "sprout:kube-proxy", "-o", "json");
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      roleRef: { kind: "ClusterRole", name: "system:node-proxier" },
      subjects: [{ kind: "User", name: "system:kube-proxy" }],
    });
    const can = await kubectl("auth", "can-i", "watch", "endpoints", "--as=system:kube-proxy");
    expect(can.stdout.trim()).toBe("yes");
  });

  it("kube-controller-manager and kube-scheduler serve /healthz and hold their leader leases", async () => {
    for (const [name, port] of [["kube-controller-manager", ports.controllerManager], ["kube-scheduler", ports.scheduler]] as const) {
      await waitFor(async () => (await https(port, "/healthz", { verify: false }).catch(() => undefined))?.body === "ok", 30_000, `${name} /healthz`);
      await waitFor(async () => {
        const lease = await kubectl("get", "lease", name, "--namespace=kube-system", "-o", "jsonpath={.spec.holderIdentity}");
        return lease.code === 0 && lease.stdout.trim() !== "";
      }, 60_000, `${name}'s leader lease`);
    }
    expect(components.filter((c) => c.exited !== undefined).map((c) => c.name)).toEqual([]);
  });

  it("service-account tokens signed with the master's key (by the API server and the controller manager) authenticate", async () => {
    // The service-account controller runs with the controller manager's per-controller credentials.
    await waitFor(async () => (await kubectl("get", "serviceaccount", "default", "--namespace=default")).code === 0, 60_000, "the default service account");
    // A bound token from the TokenRequest API: signed by --service-account-signing-key-file.
    const bound = await kubectl("create", "token", "default", "--namespace=default");
    expect(bound.code, bound.stderr).toBe(0);
    const viaBound = await https(ports.apiServer, "/api", { bearer: bound.stdout.trim() });
    expect(viaBound.status, viaBound.body).toBe(200);
    // A legacy token secret (1.20 still creates them): signed by the controller manager's
    // --service-account-private-key-file, verified with the certificate in --service-account-key-file.
    let token = "";
    await waitFor(async () => {
      const secrets = await kubectl("get", "secrets", "--namespace=default", "--field-selector=type=kubernetes.io/service-account-token", "-o", "json");
      const item = (JSON.parse(secrets.stdout || "{}") as { items?: { data?: { token?: string } }[] }).items?.[0];
      token = item?.data?.token ? Buffer.from(item.data.token, "base64").toString("utf8") : "";
      return token !== "";
    }, 60_000, "a service-account token secret");
    const viaLegacy = await https(ports.apiServer, "/api", { bearer: token });
    expect(viaLegacy.status, viaLegacy.body).toBe(200);
  });

  it("points the components' kubeconfigs at the root's keys, which the certificate steps made 0600", async () => {
    const kubeconfig = await readFile(file(rendered.files.controllerManagerKubeconfig.path), "utf8");
    expect(kubeconfig).toContain(`client-key: ${root}/etc/kubernetes/pki/controller-manager.key`);
    expect(kubeconfig).toContain(`server: https://127.0.0.1:${ports.apiServer}`);
    for (const key of ["sa.key", "apiserver.key", "etcd/server.key", "controller-manager.key", "master-admin.key"]) {
      expect((await stat(file(`/etc/kubernetes/pki/${key}`))).mode & 0o777, key).toBe(0o600);
    }
  });
});
