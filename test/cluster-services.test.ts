import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureNodeNetwork } from "../coordinator/providers/local/node-network.js";
import { findMachine, startMachine, stopMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { run, SPROUT_CLI, waitFor, type CommandResult } from "./support/harness.js";
import { cpuBurner, TOOLBOX_IMAGE } from "./support/workloads.js";

/**
 * The cluster services a workload expects, on a fresh `sprout up` (master acting as edge, two
 * service nodes, Kubernetes 1.20): cluster DNS answers every record kind of the Kubernetes DNS
 * specification from a pod, forwards outside names to an upstream DNS server (dnsmasq, in a
 * namespace of its own), keeps answering with the API server stopped, and answers after a
 * node's reboot before that node's pods start again. LoadBalancer Services get the edge's
 * address and answer there from outside the cluster's networks, until they are deleted; one
 * asking for a port the edge serves itself stays Pending with an Event. An Ingress's TLS Secret
 * is served for its host. `kubectl top` shows nodes' and pods' usage from metrics.k8s.io, as
 * RBAC allows, and an HPA scales a CPU burner up and back down. A claim without a class gets a
 * directory on its pod's node; one for the shared class is told there are no storage nodes.
 */
describe("cluster services: DNS, LoadBalancer Services, Ingress TLS, metrics and autoscaling", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-cs`);
  const dir = join(parent, cluster);
  const kubeconfig = join(parent, "kubeconfig");
  const NODES = ["master-1", "service-1", "service-2"];
  const UPSTREAM = "198.51.100.53";
  const DNS_IP = "10.96.0.10";
  /** master-1, the first node address: the master acts as edge. */
  const EDGE = "10.241.12.10";
  const hub = `sprout.${cluster}`;
  const upstreamNs = `sprout.${cluster}.upstream`;
  let upstream: ChildProcess | undefined;
  let up: CommandResult;
  const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args]);
  const ip = (...args: string[]) => run("ip", args);
  const machineSpec = async (node: string): Promise<MachineSpec> => {
    const stateDir = join(dir, ".sprout/machines", node);
    const record = JSON.parse(await readFile(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address" | "disks">;
    return { cluster, node, stateDir, ...record };
  };
  /** nslookup in the client pod, through the pod's own resolv.conf (search path, kube-dns address). */
  const lookup = (...args: string[]) => kubectl("exec", "dns-client", "--", "nslookup", ...args);
  /** A query straight to the node's cluster DNS address, with the node's Node.js resolver (no API server needed). */
  const nodeQuery = async (node: string, name: string, type = "A") => {
    const m = await findMachine(await machineSpec(node));
    if (!m) throw new Error(`${node} is not running`);
    const script = `const r=new (require("dns").promises.Resolver)({timeout:2000,tries:1});r.setServers([${JSON.stringify(DNS_IP)}]);r.resolve(${JSON.stringify(name)},${JSON.stringify(type)}).then(a=>console.log(JSON.stringify(a)),e=>{console.log(e.code);process.exitCode=1})`;
    return m.exec(["node", "-e", script], { timeoutMs: 20_000 });
  };
  const apply = async (name: string, objects: object[]) => {
    await writeFile(join(parent, `${name}.json`), JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    const r = await kubectl("apply", "-f", join(parent, `${name}.json`));
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    await run(process.execPath, [SPROUT_CLI, "init", dir]);
    const yaml = (await readFile(join(dir, "cluster.yaml"), "utf8")).replace("10.240.0.0/24", "10.241.12.0/24").replace("127.0.0.1:7443", "127.0.0.1:7556").replace("dns: {}\n", `dns:\n  upstreams: [${UPSTREAM}]\n`);
    expect(yaml).toContain(`upstreams: [${UPSTREAM}]`);
    await writeFile(join(dir, "cluster.yaml"), yaml);
    // The upstream: dnsmasq in a namespace of its own on the node network's bridge, outside every
    // cluster network, answering for outside.example only; each node reaches it on-link.
    await ensureNodeNetwork(cluster, "10.241.12.0/24", NODES);
    expect((await ip("netns", "add", upstreamNs)).code).toBe(0);
    expect((await ip("-n", hub, "link", "add", "vup", "type", "veth", "peer", "name", "eth0", "netns", upstreamNs)).code).toBe(0);
    await ip("-n", hub, "link", "set", "vup", "master", "br0", "up");
    await ip("-n", upstreamNs, "addr", "add", `${UPSTREAM}/24`, "dev", "eth0");
    await ip("-n", upstreamNs, "link", "set", "eth0", "up");
    await ip("-n", upstreamNs, "link", "set", "lo", "up");
    await ip("-n", upstreamNs, "route", "add", "10.241.12.0/24", "dev", "eth0");
    for (const n of NODES) await ip("-n", `sprout.${cluster}.${n}`, "route", "add", `${UPSTREAM}/32`, "dev", "eth0");
    upstream = spawn("ip", ["netns", "exec", upstreamNs, "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${UPSTREAM}`, "--pid-file=", "--log-queries", "--log-facility=-", "--address=/outside.example/192.0.2.77"], { stdio: ["ignore", "pipe", "pipe"] });
    upstream.stderr!.setEncoding("utf8");
    upstream.stderr!.on("data", (d: string) => (upstreamLog += d));
    upstream.stdout!.on("data", () => undefined);
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "6m", "--kubeconfig", kubeconfig]);
    if (up.code !== 0) return;
    await apply("client", [
      { apiVersion: "v1", kind: "Pod", metadata: { name: "dns-client", labels: { app: "dns-client" } }, spec: { nodeName: "service-1", containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] } },
    ]);
    await waitFor(async () => (await kubectl("get", "pod", "dns-client", "-o", "jsonpath={.status.phase}")).stdout === "Running", 120_000, "the DNS client pod running");
  }, 1_200_000);
  let upstreamLog = "";

  afterAll(async () => {
    upstream?.kill("SIGTERM");
    await run(process.execPath, [SPROUT_CLI, "down", dir]);
    await ip("netns", "del", upstreamNs);
    await rm(parent, { recursive: true, force: true });
  });

  it("every node converges and runs unbound at the cluster DNS address before the kubelet", async () => {
    expect(up.code, up.stderr.slice(-2000)).toBe(0);
    for (const node of NODES) {
      const m = await findMachine(await machineSpec(node));
      const r = await m!.exec(["systemctl", "is-active", "sprout-dns", "sprout-cluster-dns", "unbound"]);
      expect(r.stdout.trim().split("\n"), node).toEqual(["active", "active", "inactive"]);
    }
    const svc = await kubectl("get", "service", "-n", "kube-system", "kube-dns", "-o", "jsonpath={.spec.clusterIP}");
    expect(svc.stdout).toBe(DNS_IP);
  });

  it("resolves Services by short, namespaced and full names; SRV; PTR; headless and StatefulSet pod records; ExternalName; pod records", async () => {
    await apply("records", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "lab" } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "db" }, ports: [{ name: "http", port: 80 }] } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "db", namespace: "lab" }, spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ name: "pg", port: 5432 }] } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "ext", namespace: "default" }, spec: { type: "ExternalName", externalName: "www.outside.example" } },
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "db", namespace: "lab" },
        spec: {
          serviceName: "db",
          replicas: 2,
          selector: { matchLabels: { app: "db" } },
          template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] } },
        },
      },
    ]);
    await waitFor(async () => (await kubectl("get", "statefulset", "-n", "lab", "db", "-o", "jsonpath={.status.readyReplicas}")).stdout === "2", 120_000, "both StatefulSet pods ready");
    const webIp = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
    const db0 = (await kubectl("get", "pod", "-n", "lab", "db-0", "-o", "jsonpath={.status.podIP}")).stdout;
    const db1 = (await kubectl("get", "pod", "-n", "lab", "db-1", "-o", "jsonpath={.status.podIP}")).stdout;
    expect(webIp).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./); // in 10.96.0.0/12

    // The client lives in "default": short names through the search path. busybox's nslookup
    // searches only names without a dot, so for the others the test walks the pod's search list
    // as glibc does with ndots:5: the first expansion that exists is the answer, and the earlier
    // ones must be NXDOMAIN, not an error or a timeout.
    expect((await lookup("web")).stdout).toContain(`Address: ${webIp}`);
    const search = /^search (.*)$/m.exec((await kubectl("exec", "dns-client", "--", "cat", "/etc/resolv.conf")).stdout)![1]!.split(" ");
    expect(search).toEqual(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    const viaSearch = async (name: string) => {
      for (const domain of search) {
        const r = await lookup(`${name}.${domain}`);
        if (/^Address: /m.test(r.stdout)) return r.stdout; // an answer ("Address:\t" is the server's line)
        expect(r.stdout, `${name}.${domain}`).toMatch(/NXDOMAIN/);
      }
      return "";
    };
    for (const name of ["web.default", "web.default.svc"]) expect(await viaSearch(name), name).toContain(`Address: ${webIp}`);
    expect((await lookup("web.default.svc.cluster.local")).stdout).toContain(`Address: ${webIp}`);
    for (const name of ["kubernetes", "kubernetes.default.svc.cluster.local"]) expect((await lookup(name)).stdout, name).toContain("Address: 10.96.0.1");
    const srv = await lookup("-type=srv", "_http._tcp.web.default.svc.cluster.local");
    expect(srv.stdout, srv.stderr).toMatch(/0 100 80 web\.default\.svc\.cluster\.local/);
    const ptr = await lookup(webIp);
    expect(ptr.stdout, ptr.stderr).toContain("web.default.svc.cluster.local");
    // Headless: every ready pod at the Service's name, StatefulSet pods at hostname.subdomain.
    const headless = { stdout: await viaSearch("db.lab"), stderr: "" };
    expect(headless.stdout, headless.stderr).toContain(`Address: ${db0}`);
    expect(headless.stdout).toContain(`Address: ${db1}`);
    expect(await viaSearch("db-0.db.lab")).toContain(`Address: ${db0}`);
    expect((await lookup("db-1.db.lab.svc.cluster.local")).stdout).toContain(`Address: ${db1}`);
    const headlessSrv = await lookup("-type=srv", "_pg._tcp.db.lab.svc.cluster.local");
    expect(headlessSrv.stdout).toMatch(/5432 db-0\.db\.lab\.svc\.cluster\.local/);
    expect(headlessSrv.stdout).toMatch(/5432 db-1\.db\.lab\.svc\.cluster\.local/);
    expect((await lookup(db0)).stdout).toContain("db-0.db.lab.svc.cluster.local");
    // ExternalName: a CNAME to a name outside the cluster, followed through the upstream.
    const ext = await lookup("ext");
    expect(ext.stdout, ext.stderr).toContain("www.outside.example");
    expect(ext.stdout).toContain("Address: 192.0.2.77");
    // Pod records: a-b-c-d.<namespace>.pod.
    expect((await lookup(`${db0.replaceAll(".", "-")}.lab.pod.cluster.local`)).stdout).toContain(`Address: ${db0}`);
    // The schema version, and a name that does not exist.
    expect((await lookup("-type=txt", "dns-version.cluster.local")).stdout).toContain("1.1.0");
    const missing = await lookup("nothing-here.default.svc.cluster.local");
    expect(missing.stdout + missing.stderr).toMatch(/NXDOMAIN|can't find/);
  });

  it("a Service created after the pod started resolves within 2 s", async () => {
    // The pod itself polls (every 50 ms) from before the Service exists, so the time measured
    // is the cluster's, not kubectl exec's: from the moment the API server has the Service
    // (kubectl apply returned) to the pod's first answer (the exec returning). The answer
    // section decides, not the exit code: busybox's nslookup fails when AAAA has no answer.
    const poll = kubectl("exec", "dns-client", "--", "sh", "-c", "i=0; until nslookup late 2>/dev/null | grep -q '^Name:'; do i=$((i+1)); [ $i -gt 400 ] && exit 1; sleep 0.05; done");
    const applying = Date.now();
    await apply("late", [{ apiVersion: "v1", kind: "Service", metadata: { name: "late", namespace: "default" }, spec: { selector: { app: "none" }, ports: [{ port: 8080 }] } }]);
    const created = Date.now();
    const polled = await poll;
    const resolvedAt = Date.now();
    expect(polled.code, polled.stderr).toBe(0);
    const clusterIp = (await kubectl("get", "service", "late", "-o", "jsonpath={.spec.clusterIP}")).stdout;
    expect((await lookup("late")).stdout).toContain(`Address: ${clusterIp}`);
    console.log(`cluster-dns: a new Service resolved in a pod ${resolvedAt - created} ms after it was created (${resolvedAt - applying} ms after kubectl apply started)`);
    expect(resolvedAt - created).toBeLessThan(2_000);
  });

  it("forwards names outside the cluster to the upstream, and caches them", async () => {
    const r = await lookup("api.outside.example");
    expect(r.stdout, r.stderr).toContain("Address: 192.0.2.77");
    expect(upstreamLog).toMatch(/query\[A\] api\.outside\.example from 10\.241\.12\./);
    // Search-path expansions of an outside name stop at the cluster zone: never sent upstream.
    expect(upstreamLog).not.toMatch(/outside\.example\.[a-z.]*cluster\.local/);
  });

  /** From the upstream's namespace, outside every cluster network: exit 0 with the page, 1 refused, 124 dropped. */
  const fromOutside = (port: number) => run("ip", ["netns", "exec", upstreamNs, "timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${EDGE}/${port} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`]);

  it("a LoadBalancer Service gets the edge address and answers there from outside the cluster; deleting it closes the port", async () => {
    await apply("echo", [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "echo" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "echo" } },
          template: { metadata: { labels: { app: "echo" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", "mkdir -p /www && echo hello-from-lb > /www/index.html && exec httpd -f -p 8080 -h /www"] }] } },
        },
      },
    ]);
    await waitFor(async () => (await kubectl("get", "deployment", "echo", "-o", "jsonpath={.status.readyReplicas}")).stdout === "2", 120_000, "the echo pods ready");
    expect((await fromOutside(8080)).code).toBe(124); // closed before any Service asks for it
    const created = Date.now();
    await apply("echo-lb", [{ apiVersion: "v1", kind: "Service", metadata: { name: "echo" }, spec: { type: "LoadBalancer", selector: { app: "echo" }, ports: [{ name: "http", port: 8080, targetPort: 8080 }] } }]);
    await waitFor(async () => (await kubectl("get", "service", "echo", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")).stdout === EDGE, 30_000, "the edge address in the Service's status");
    let answer = { code: -1, stdout: "" } as CommandResult;
    await waitFor(async () => {
      answer = await fromOutside(8080);
      return answer.stdout.includes("hello-from-lb");
    }, 30_000, "the LoadBalancer answering from outside");
    console.log(`load balancer: answering from outside ${Date.now() - created} ms after kubectl apply`);
    expect((await kubectl("get", "service", "echo", "--no-headers")).stdout).toMatch(new RegExp(`LoadBalancer +10\\.\\S+ +${EDGE.replaceAll(".", "\\.")} +8080:`));

    expect((await kubectl("delete", "service", "echo")).code).toBe(0);
    await waitFor(async () => (await fromOutside(8080)).code === 124, 30_000, "the port dropped again at the edge");
  });

  it("a LoadBalancer Service asking for a port the edge serves itself stays Pending, with an Event naming the conflict", async () => {
    await apply("clash", [{ apiVersion: "v1", kind: "Service", metadata: { name: "clash" }, spec: { type: "LoadBalancer", selector: { app: "echo" }, ports: [{ port: 443, targetPort: 8080 }] } }]);
    let events = "";
    await waitFor(async () => {
      events = (await kubectl("get", "events", "--field-selector", "involvedObject.kind=Service,involvedObject.name=clash", "-o", "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}")).stdout;
      return events.includes("PortConflict");
    }, 30_000, "the Event on the clashing Service");
    expect(events).toContain("Warning PortConflict port 443/TCP is the edge's own HTTPS (nginx, the Ingress edge); the Service stays Pending");
    expect((await kubectl("get", "service", "clash", "-o", "jsonpath={.status.loadBalancer.ingress}")).stdout).toBe("");
    // The edge still serves its own HTTPS on 443.
    expect((await run("ip", ["netns", "exec", upstreamNs, "timeout", "3", "bash", "-c", `echo > /dev/tcp/${EDGE}/443`])).code).toBe(0);
    await kubectl("delete", "service", "clash");
  });

  it("an Ingress's spec.tls Secret is served for its host; a Secret that does not parse falls back to the edge certificate, with an Event", async () => {
    const host = `secure.${EDGE}.nip.io`;
    const key = join(parent, "secure.key");
    const crt = join(parent, "secure.crt");
    const made = await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:${host}`, "-keyout", key, "-out", crt]);
    expect(made.code, made.stderr).toBe(0);
    const b64 = async (f: string) => (await readFile(f)).toString("base64");
    const backend = { service: { name: "web", port: { number: 80 } } };
    await apply("tls", [
      { apiVersion: "v1", kind: "Secret", metadata: { name: "secure-tls" }, type: "kubernetes.io/tls", data: { "tls.crt": await b64(crt), "tls.key": await b64(key) } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "broken-tls" }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from("not a certificate").toString("base64"), "tls.key": await b64(key) } },
      { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "secure" }, spec: { tls: [{ hosts: ["secure"], secretName: "secure-tls" }], rules: [{ host: "secure", http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }] } },
      { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "broken" }, spec: { tls: [{ hosts: ["broken"], secretName: "broken-tls" }], rules: [{ host: "broken", http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }] } },
    ]);
    const peer = (servername: string) =>
      new Promise<{ subject: string; san: string }>((resolve, reject) => {
        const socket = tlsConnect({ host: EDGE, port: 443, servername, rejectUnauthorized: false }, () => {
          const c = socket.getPeerCertificate();
          socket.end();
          resolve({ subject: String(c.subject?.CN ?? ""), san: c.subjectaltname ?? "" });
        });
        socket.once("error", reject);
      });
    await waitFor(async () => (await peer(host)).subject === host, 30_000, `the edge serving ${host}'s own certificate`);
    // The broken one: the edge certificate (every name under the base domain), and an Event that says why.
    expect((await peer(`broken.${EDGE}.nip.io`)).san).toContain(`DNS:*.${EDGE}.nip.io`);
    let events = "";
    await waitFor(async () => {
      events = (await kubectl("get", "events", "--field-selector", "involvedObject.kind=Ingress,involvedObject.name=broken", "-o", "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}")).stdout;
      return events.includes("InvalidTLSSecret");
    }, 30_000, "the Event on the Ingress with the broken Secret");
    expect(events).toMatch(/InvalidTLSSecret TLS Secret default\/broken-tls for broken\.[0-9.]+\.nip\.io: tls\.crt or tls\.key does not parse as PEM/);
  });

  /** `kubectl top` rows: name, CPU in millicores, memory in MiB (columns found by their headers). */
  const topRows = (out: string) => {
    const [header, ...lines] = out.trim().split("\n").map((l) => l.trim().split(/\s+/));
    const cpuAt = header?.indexOf("CPU(cores)") ?? -1;
    const memAt = header?.indexOf("MEMORY(bytes)") ?? -1;
    return lines.map((c) => ({ name: c[0]!, cpu: Number(/^(\d+)m$/.exec(c[cpuAt] ?? "")?.[1] ?? NaN), memory: Number(/^(\d+)Mi$/.exec(c[memAt] ?? "")?.[1] ?? NaN) }));
  };

  it("metrics.k8s.io is Available, `kubectl top nodes` shows every node's usage, and RBAC decides who may see it", async () => {
    await waitFor(async () => (await kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "jsonpath={.status.conditions[?(@.type==\"Available\")].status}")).stdout === "True", 120_000, "the metrics APIService Available");
    let rows: ReturnType<typeof topRows> = [];
    await waitFor(async () => {
      const r = await kubectl("top", "nodes");
      rows = r.code === 0 ? topRows(r.stdout) : [];
      // kubectl lists every Node, with <unknown> until its second scrape has given it a rate.
      return rows.length === NODES.length && rows.every((row) => Number.isFinite(row.cpu) && Number.isFinite(row.memory));
    }, 90_000, "kubectl top nodes showing usage for every node");
    expect(rows.map((r) => r.name).sort()).toEqual(NODES);
    for (const r of rows) {
      expect(r.cpu, r.name).toBeGreaterThan(0);
      expect(r.memory, r.name).toBeGreaterThan(0);
    }
    // A label selector is the API server's own: only the master.
    const masters = await kubectl("top", "nodes", "-l", "node-role.kubernetes.io/master");
    expect(topRows(masters.stdout).map((r) => r.name)).toEqual(["master-1"]);
    // Nobody else's usage without RBAC; a namespace viewer may see its pods (aggregated to view).
    const denied = await kubectl("--as=nobody", "top", "nodes");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden: User "nobody" cannot list resource "nodes" in API group "metrics.k8s.io"/);
    await kubectl("create", "rolebinding", "viewer", "--clusterrole=view", "--user=viewer", "--namespace=default");
    await waitFor(async () => (await kubectl("--as=viewer", "top", "pod", "dns-client")).code === 0, 60_000, "a viewer's kubectl top pod");
    expect((await kubectl("--as=viewer", "top", "pods", "--namespace=lab")).stderr).toMatch(/forbidden/);
  });

  it("`kubectl top pods` shows a CPU burner's usage, and an HPA scales it from 1 replica to more and back to 1", async () => {
    await apply("burner", [cpuBurner("while :; do :; done")]);
    // What a user types (the EBI practical's exercise 7): autoscale at 50 % of the request.
    const autoscale = await kubectl("autoscale", "deployment", "burner", "--cpu-percent=50", "--min=1", "--max=3");
    expect(autoscale.code, autoscale.stderr).toBe(0);
    let pods: ReturnType<typeof topRows> = [];
    await waitFor(async () => {
      pods = topRows((await kubectl("top", "pods", "-l", "app=burner")).stdout);
      return pods.some((p) => p.cpu >= 100);
    }, 120_000, "kubectl top pods showing the burner's CPU");
    expect(pods[0]!.memory).toBeGreaterThanOrEqual(0);
    const replicas = async () => Number((await kubectl("get", "hpa", "burner", "-o", "jsonpath={.status.currentReplicas}")).stdout || 0);
    await waitFor(async () => (await replicas()) >= 2, 180_000, "the HPA scaling the burner to 2 or more");
    // What `kubectl get hpa` shows as TARGETS: the burner far above its 50 % of request.
    const utilization = Number((await kubectl("get", "hpa", "burner", "-o", "jsonpath={.status.currentCPUUtilizationPercentage}")).stdout);
    expect(utilization).toBeGreaterThan(50);
    // Down again once the work stops. Without a shorter window the HPA waits 5 minutes, its
    // default stabilization; this HPA asks for none (autoscaling/v2beta2 behavior).
    const patch = await kubectl("patch", "horizontalpodautoscalers.v2beta2.autoscaling", "burner", "--type=merge", "-p", JSON.stringify({ spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } }));
    expect(patch.code, patch.stderr).toBe(0);
    expect(patch.stdout).not.toContain("no change");
    await apply("burner", [cpuBurner("sleep 100000")]);
    await waitFor(async () => (await replicas()) === 1, 180_000, "the HPA scaling the burner back to 1").catch(async (err: Error) => {
      throw new Error(`${err.message}\n${(await kubectl("describe", "hpa", "burner")).stdout}`);
    });
    await kubectl("delete", "hpa", "burner");
    await kubectl("delete", "deployment", "burner");
  });

  it("a claim without a class gets a directory on its pod's node (the default class), which goes with the claim", async () => {
    const pod = (name: string, claimName: string, script: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      // Scheduled, not placed by nodeName: WaitForFirstConsumer binds where the scheduler puts the pod.
      spec: { nodeSelector: { "kubernetes.io/hostname": "service-2" }, restartPolicy: "Never", containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script], volumeMounts: [{ name: "d", mountPath: "/data" }] }], volumes: [{ name: "d", persistentVolumeClaim: { claimName } }] },
    });
    await apply("local", [
      { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "scratch" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      pod("writer", "scratch", "echo from-the-pod > /data/result && id -u > /data/uid"),
    ]);
    await waitFor(async () => (await kubectl("get", "pod", "writer", "-o", "jsonpath={.status.phase}")).stdout === "Succeeded", 120_000, "the writer pod done");
    const claim = JSON.parse((await kubectl("get", "pvc", "scratch", "-o", "json")).stdout) as { spec: { storageClassName: string; volumeName: string }; status: { phase: string } };
    expect(claim.spec.storageClassName).toBe("sprout-local");
    expect(claim.status.phase).toBe("Bound");
    const dir = `/var/lib/sprout/local-volumes/${claim.spec.volumeName}`;
    const node = await findMachine(await machineSpec("service-2"));
    expect((await node!.exec(["cat", `${dir}/result`])).stdout).toBe("from-the-pod\n");
    // Deleting the claim deletes the volume and its data (reclaimPolicy Delete).
    await kubectl("delete", "pod", "writer");
    await kubectl("delete", "pvc", "scratch");
    await waitFor(async () => (await kubectl("get", "pv", claim.spec.volumeName)).code !== 0, 60_000, "the local volume deleted with its claim");
    expect((await node!.exec(["test", "-e", dir])).code).not.toBe(0);
    // ReadWriteMany cannot be a directory on one node: Pending, with the reason.
    await apply("local-rwx", [
      { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "wide" }, spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } } },
      pod("wide-user", "wide", "true"),
    ]);
    let events = "";
    await waitFor(async () => {
      events = (await kubectl("get", "events", "--field-selector", "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=wide", "-o", "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}")).stdout;
      return events.includes("ProvisioningFailed");
    }, 60_000, "the Event on the ReadWriteMany claim");
    expect(events).toMatch(/ProvisioningFailed storage class sprout-local is a directory on one node: it gives ReadWriteOnce only, not ReadWriteMany/);
    expect((await kubectl("get", "pvc", "wide", "-o", "jsonpath={.status.phase}")).stdout).toBe("Pending");
    await kubectl("delete", "pod", "wide-user", "--wait=false");
    await kubectl("delete", "pvc", "wide", "--wait=false");
  });

  it("a claim for the shared class in a cluster without storage nodes stays Pending, with an Event saying so", async () => {
    await apply("no-storage", [{ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "shared" }, spec: { accessModes: ["ReadWriteMany"], storageClassName: "sprout-shared", resources: { requests: { storage: "1Gi" } } } }]);
    let events = "";
    await waitFor(async () => {
      events = (await kubectl("get", "events", "--field-selector", "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=shared", "-o", "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}")).stdout;
      return events.includes("ProvisioningFailed");
    }, 60_000, "the Event on the shared claim");
    expect(events).toMatch(/ProvisioningFailed this cluster has no storage nodes, so storage class sprout-shared has no volume to give: add a node group with role storage to cluster.yaml/);
    expect((await kubectl("get", "pvc", "shared", "-o", "jsonpath={.status.phase}")).stdout).toBe("Pending");
    await kubectl("delete", "pvc", "shared", "--wait=false");
  });

  it("keeps answering from the last records with the API server stopped", async () => {
    const master = await findMachine(await machineSpec("master-1"));
    const webIp = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
    // A graceful stop waits for open watches to end: give it its time.
    const stop = await master!.exec(["systemctl", "stop", "kube-apiserver"], { timeoutMs: 120_000 });
    expect(stop.code, stop.stderr).toBe(0);
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      for (const node of NODES) {
        const r = await nodeQuery(node, "web.default.svc.cluster.local");
        expect(r.stdout.trim(), `${node}: ${r.stderr}`).toBe(JSON.stringify([webIp]));
      }
    } finally {
      await master!.exec(["systemctl", "start", "kube-apiserver"], { timeoutMs: 120_000 });
    }
    await waitFor(async () => (await kubectl("get", "--raw=/readyz")).code === 0, 120_000, "the API server back");
  });

  it("after a node reboots, DNS answers there before its pods start again", async () => {
    const spec = await machineSpec("service-2");
    await stopMachine(spec, { graceful: true, timeoutMs: 30_000 });
    const machine = await startMachine(spec);
    let answer = "";
    await waitFor(async () => {
      answer = (await nodeQuery("service-2", "kubernetes.default.svc.cluster.local")).stdout.trim();
      return answer === JSON.stringify(["10.96.0.1"]);
    }, 60_000, "DNS answering on the rebooted node");
    // Ordered before the kubelet: unbound was serving (from the records on disk) when the kubelet started its pods.
    const show = async (unit: string, prop: string) => Number((await machine.exec(["systemctl", "show", "-p", prop, "--value", unit])).stdout.trim());
    const dnsReady = await show("sprout-dns.service", "ActiveEnterTimestampMonotonic");
    const kubeletStart = await show("kubelet.service", "ExecMainStartTimestampMonotonic");
    expect(dnsReady).toBeGreaterThan(0);
    expect(kubeletStart === 0 || dnsReady <= kubeletStart, `sprout-dns ready at ${dnsReady}, kubelet started at ${kubeletStart}`).toBe(true);
    await waitFor(async () => / Ready /.test((await kubectl("get", "node", "service-2", "--no-headers")).stdout), 120_000, "service-2 Ready again");
  });
});
