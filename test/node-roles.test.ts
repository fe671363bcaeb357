import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { createServer } from "node:http";
import { ensureNodeNetwork } from "../coordinator/providers/local/node-network.js";
import { ClusterStatus } from "../shared/status.js";
import { findMachine, startMachine, stopMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { run, SPROUT_CLI, waitFor, type CommandResult } from "./support/harness.js";
import { claimPod } from "./support/workloads.js";

/**
 * KubeNow's roles on the local provider: 1 master acting as edge, 2 service and 2 storage nodes
 * (replica 2). The edge (nginx + Sprout's Ingress controller on the master) routes Ingress
 * objects on ports 80 and 443 with a certificate from the cluster CA.
 * Each storage node formats its attached volume (/dev/vdb, a loop device) and runs a GlusterFS
 * brick; the first forms the volume once both reported; service nodes mount it; each claim of
 * the shared classes gets its own directory on it. A pod on one service node writes, a pod on the other reads; a
 * storage node powered off mid-way comes back with its data and catches up on what it missed.
 */
describe("node roles: storage nodes share a GlusterFS volume, the master acts as edge", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-st`);
  const dir = join(parent, cluster);
  const kubeconfig = join(parent, "kubeconfig");
  /** master-1, the first node address: the master acts as edge. */
  const EDGE = "10.241.10.10";
  const GATEWAY = "10.241.10.1";
  let proxy: RecordingProxy | undefined;
  const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args]);
  const machine = async (node: string) => {
    const stateDir = join(dir, ".sprout/machines", node);
    const record = JSON.parse(await readFile(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address" | "disks">;
    return { cluster, node, stateDir, ...record } satisfies MachineSpec;
  };
  const sh = async (node: string, script: string) => {
    const m = await findMachine(await machine(node));
    if (!m) throw new Error(`${node} is not running`);
    return m.exec(["sh", "-c", script], { timeoutMs: 60_000 });
  };
  let up: CommandResult;
  /** The `results` claim's directory on every brick. */
  let resultsDir = "";

  /** Runs a pod to completion on `node` with the claim mounted at /data; returns its output. */
  async function runPod(name: string, node: string, claim: string, script: string, readOnly = false): Promise<string> {
    const pod = claimPod({ name, node, claim, script, readOnly });
    await writeFile(join(parent, `${name}.json`), JSON.stringify(pod));
    const applied = await kubectl("apply", "-f", join(parent, `${name}.json`));
    expect(applied.code, applied.stderr).toBe(0);
    let phase = "";
    await waitFor(async () => {
      phase = (await kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}")).stdout;
      return phase === "Succeeded" || phase === "Failed";
    }, 180_000, `pod ${name} to finish`);
    const logs = (await kubectl("logs", name)).stdout;
    expect(phase, `${name}: ${logs}\n${(await kubectl("describe", "pod", name)).stdout.slice(-1500)}`).toBe("Succeeded");
    return logs;
  }

  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    await run(process.execPath, [SPROUT_CLI, "init", dir]);
    const yaml = (await readFile(join(dir, "cluster.yaml"), "utf8"))
      .replace("10.240.0.0/24", "10.241.10.0/24")
      .replace("127.0.0.1:7443", "127.0.0.1:7554")
      .replace("  # - name: storage\n  #   roles: [storage]\n  #   count: 2\n", "  - name: storage\n    roles: [storage]\n    count: 2\n")
      .replace(/replication: 1 /, "replication: 2 ")
      .replace(/volumeSizeGiB: 10 /, "volumeSizeGiB: 2 ");
    expect(yaml).toContain("    roles: [storage]\n    count: 2\n");
    // Every node reaches the outside only through an HTTP(S) proxy: the test's own, on the node
    // network's gateway, recording what it is asked for and refusing it (there is no internet).
    await writeFile(join(dir, "cluster.yaml"), `${yaml}\negressProxy:\n  httpProxy: http://${GATEWAY}:3128\n  httpsProxy: http://${GATEWAY}:3128\n`);
    await ensureNodeNetwork(cluster, "10.241.10.0/24", ["master-1", "service-1", "service-2", "storage-1", "storage-2"]);
    proxy = await startRecordingProxy(GATEWAY, 3128);
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
  }, 1_200_000);

  afterAll(async () => {
    await proxy?.close();
    await run(process.execPath, [SPROUT_CLI, "down", dir]);
    await rm(parent, { recursive: true, force: true });
  });

  it("all five nodes converge, and the storage nodes form one replicated volume on their own volumes", async () => {
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stderr).toContain("5 of 5 nodes converged");
    const status = ClusterStatus.parse(JSON.parse((await run(process.execPath, [SPROUT_CLI, "status", dir, "-o", "json"])).stdout));
    const took = Object.fromEntries(status.nodes.map((n) => [n.name, n.timeline.reduce((t, e) => Math.max(t, (e.finishedAt ?? 0) - n.joinedAt), 0)]));
    console.log(`shared storage: ms from join to last step per node: ${JSON.stringify(took)}`);
    const info = await sh("storage-1", "gluster volume info sprout-shared");
    expect(info.stdout).toContain("Status: Started");
    expect(info.stdout).toContain("Number of Bricks: 1 x 2 = 2");
    for (const node of ["storage-1", "storage-2"]) {
      const df = await sh(node, "findmnt -n -o SOURCE,FSTYPE /srv/sprout/brick");
      expect(df.stdout.trim().split(/\s+/), node).toEqual(["/dev/vdb", "xfs"]);
    }
    for (const node of ["service-1", "service-2"]) {
      const m = await sh(node, "findmnt -n -o FSTYPE /mnt/sprout-shared");
      expect(m.stdout.trim(), node).toBe("fuse.glusterfs");
    }
  });

  it("a pod on one service node writes to its ReadWriteMany claim, and a pod on the other reads it", async () => {
    const results = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "results" }, spec: { accessModes: ["ReadWriteMany"], storageClassName: "sprout-shared", resources: { requests: { storage: "1Gi" } } } };
    await writeFile(join(parent, "results.json"), JSON.stringify(results));
    expect((await kubectl("apply", "-f", join(parent, "results.json"))).code).toBe(0);
    await waitFor(async () => (await kubectl("get", "pvc", "results", "-o", "jsonpath={.status.phase}")).stdout === "Bound", 60_000, "the claim bound");

    const token = randomBytes(8).toString("hex");
    await runPod("writer", "service-1", "results", `mkdir -p /data/run && echo ${token} > /data/run/result.txt && sync`);
    expect((await runPod("reader", "service-2", "results", "cat /data/run/result.txt")).trim()).toBe(token);
    // Both bricks hold it (replica 2), in the claim's own directory.
    resultsDir = `/srv/sprout/brick/sprout-shared/${(await kubectl("get", "pvc", "results", "-o", "jsonpath={.spec.volumeName}")).stdout}`;
    for (const node of ["storage-1", "storage-2"]) expect((await sh(node, `cat ${resultsDir}/run/result.txt`)).stdout.trim(), node).toBe(token);
  });

  it("a ReadOnlyMany claim copied from it shows the same data and refuses writes", async () => {
    const reference = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "reference" }, spec: { accessModes: ["ReadOnlyMany"], storageClassName: "sprout-reference", resources: { requests: { storage: "1Gi" } }, dataSource: { kind: "PersistentVolumeClaim", name: "results" } } };
    await writeFile(join(parent, "reference.json"), JSON.stringify(reference));
    expect((await kubectl("apply", "-f", join(parent, "reference.json"))).code).toBe(0);
    await waitFor(async () => (await kubectl("get", "pvc", "reference", "-o", "jsonpath={.status.phase}")).stdout === "Bound", 60_000, "the reference claim bound");
    const out = await runPod("reference-reader", "service-2", "reference", "cat /data/run/result.txt; if touch /data/run/nope 2>/dev/null; then echo writable; else echo read-only; fi", true);
    const [data, verdict] = out.trim().split("\n");
    expect(data).toMatch(/^[0-9a-f]{16}$/);
    expect(verdict).toBe("read-only");
  });

  it("the edge routes an Ingress by host name on port 80 to pods behind its Service", async () => {
    const app = [
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "demo" }, spec: { replicas: 2, selector: { matchLabels: { app: "demo" } }, template: { metadata: { labels: { app: "demo" } }, spec: { containers: [{ name: "web", image: "sprout.dev/toolbox:1", imagePullPolicy: "Never" }] } } } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "demo" }, spec: { selector: { app: "demo" }, ports: [{ name: "http", port: 8080, targetPort: 80 }] } },
      // A short host: the edge serves it as demo.<edge-ip>.nip.io.
      { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "demo" }, spec: { rules: [{ host: "demo", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "demo", port: { name: "http" } } } }] } }] } },
    ];
    await writeFile(join(parent, "demo.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: app }));
    expect((await kubectl("apply", "-f", join(parent, "demo.json"))).code).toBe(0);
    const rollout = await kubectl("rollout", "status", "deployment/demo", "--timeout=120s");
    expect(rollout.code, rollout.stderr).toBe(0);
    const pods = (await kubectl("get", "pods", "-l", "app=demo", "-o", "jsonpath={.items[*].metadata.name}")).stdout.split(" ");

    // Sent to the edge's address with the Host header, as DNS for *.nip.io would.
    let answer = "";
    await waitFor(async () => {
      const r = await request(`http://${EDGE}/cgi-bin/hostname`, { headers: { host: `demo.${EDGE}.nip.io` }, headersTimeout: 5000 }).catch(() => undefined);
      answer = r ? (await r.body.text()).trim() : "";
      return r?.statusCode === 200;
    }, 60_000, "the edge to route demo");
    expect(pods).toContain(answer);
    // `kubectl get ingress` shows where it is served.
    await waitFor(async () => (await kubectl("get", "ingress", "demo", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")).stdout === EDGE, 30_000, "the edge address in the Ingress status");
    // A host no Ingress names gets 404 from the edge itself.
    const other = await request(`http://${EDGE}/`, { headers: { host: `nothing.${EDGE}.nip.io` } });
    await other.body.dump();
    expect(other.statusCode).toBe(404);
  });

  it("the edge serves HTTPS with a certificate the cluster CA signed for the host", async () => {
    const ca = await readFile(join(dir, ".sprout/pki/ca.crt"));
    // TLS to the edge's address with the nip.io name as SNI; the certificate must verify for it.
    const agent = new Agent({ connect: { ca, servername: `demo.${EDGE}.nip.io` } });
    try {
      const r = await request(`https://${EDGE}/cgi-bin/hostname`, { dispatcher: agent, headers: { host: `demo.${EDGE}.nip.io` } });
      expect(r.statusCode).toBe(200);
      expect((await r.body.text()).trim()).toMatch(/^demo-/);
    } finally {
      await agent.close();
    }
  });

  it("from outside the cluster's networks the edge takes only SSH, HTTP and HTTPS", async () => {
    // An outside client: a namespace on the node network's bridge with an address outside every
    // cluster network, on-link routes both ways (the edge answers it directly).
    const outside = `sprout.${cluster}.outside`;
    const hub = `sprout.${cluster}`;
    const ip = (...args: string[]) => run("ip", args);
    try {
      expect((await ip("netns", "add", outside)).code).toBe(0);
      expect((await ip("-n", hub, "link", "add", "vout", "type", "veth", "peer", "name", "eth0", "netns", outside)).code).toBe(0);
      await ip("-n", hub, "link", "set", "vout", "master", "br0", "up");
      await ip("-n", outside, "addr", "add", "198.51.100.10/24", "dev", "eth0");
      await ip("-n", outside, "link", "set", "eth0", "up");
      await ip("-n", outside, "route", "add", "10.241.10.0/24", "dev", "eth0");
      await ip("-n", `sprout.${cluster}.master-1`, "route", "add", "198.51.100.10/32", "dev", "eth0");
      // Exit 0: connected; 1: refused by the node (reached it); 124: dropped on the way in.
      const connect = async (port: number) => (await run("ip", ["netns", "exec", outside, "timeout", "3", "bash", "-c", `echo > /dev/tcp/${EDGE}/${port}`])).code;
      expect(await connect(80)).toBe(0);
      expect(await connect(443)).toBe(0);
      expect(await connect(22)).toBe(1); // open, but the image runs no sshd
      expect(await connect(6443)).toBe(124); // the API server
      expect(await connect(10250)).toBe(124); // the kubelet
      // From inside the cluster's networks (this machine is the node network's gateway) the API server answers.
      expect((await run("timeout", ["3", "bash", "-c", `echo > /dev/tcp/${EDGE}/6443`])).code).toBe(0);
    } finally {
      await ip("-n", `sprout.${cluster}.master-1`, "route", "del", "198.51.100.10/32", "dev", "eth0");
      await ip("netns", "del", outside);
    }
  });

  it("with an egress proxy, containerd pulls images through it while cluster traffic bypasses it", async () => {
    // The cluster came up with the proxy refusing everything: NO_PROXY kept the API server,
    // nodes, pods and services off it. Only the outside was asked for.
    expect(proxy!.requests.filter((r) => !r.startsWith("CONNECT registry.example.org"))).toEqual([]);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "outside" }, spec: { nodeName: "service-1", containers: [{ name: "c", image: "registry.example.org/research/tool:1.0" }] } };
    await writeFile(join(parent, "outside.json"), JSON.stringify(pod));
    expect((await kubectl("apply", "-f", join(parent, "outside.json"))).code).toBe(0);
    await waitFor(async () => proxy!.requests.includes("CONNECT registry.example.org:443"), 60_000, "containerd on service-1 to ask the proxy for registry.example.org");
    // containerd and the kubelet run with the proxy and the cluster-wide NO_PROXY.
    for (const unit of ["kubelet", "containerd"]) {
      const env = (await sh("service-1", `systemctl show -p Environment ${unit}`)).stdout;
      expect(env, unit).toContain(`HTTPS_PROXY=http://${GATEWAY}:3128`);
      expect(env, unit).toMatch(/NO_PROXY=localhost,127\.0\.0\.1,169\.254\.169\.254,metadata\.google\.internal,10\.241\.10\.0\/24,10\.244\.0\.0\/16,10\.96\.0\.0\/12,\.svc,\.cluster\.local/);
    }
    await kubectl("delete", "pod", "outside", "--wait=false");
  });

  it("a storage node powered off mid-way comes back with its data and catches up on writes it missed", async () => {
    const before = (await sh("storage-2", `cat ${resultsDir}/run/result.txt`)).stdout.trim();
    const spec = await machine("storage-2");
    await stopMachine(spec, { graceful: true, timeoutMs: 30_000 });
    const offAt = Date.now();

    // The volume stays writable on one replica while storage-2 is down.
    const missed = randomBytes(8).toString("hex");
    await runPod("writer-degraded", "service-1", "results", `echo ${missed} > /data/run/missed.txt && sync`);

    const rebooted = await startMachine(spec);
    // Its agent converges from the cached manifest; the brick's volume is the same disk.
    await waitFor(async () => {
      const r = await rebooted.exec(["journalctl", "-u", "sprout-agent", "--since", `@${Math.floor(offAt / 1000)}`, "-o", "cat", "--no-pager"]);
      return r.stdout.includes("configuration pass finished");
    }, 120_000, "storage-2's agent pass after the reboot");
    const pass = (await rebooted.exec(["journalctl", "-u", "sprout-agent", "--since", `@${Math.floor(offAt / 1000)}`, "-o", "cat", "--no-pager"])).stdout.split("\n").find((l) => l.includes("configuration pass finished"))!;
    expect(pass).toMatch(/"failed":0/);
    expect((await sh("storage-2", `cat ${resultsDir}/run/result.txt`)).stdout.trim()).toBe(before);

    // GlusterFS heals the file storage-2 missed onto its brick once the brick is back.
    await waitFor(async () => (await sh("storage-2", `cat ${resultsDir}/run/missed.txt 2>/dev/null`)).stdout.trim() === missed, 180_000, "the missed write healed onto storage-2");
    expect((await runPod("reader-after", "service-2", "results", "cat /data/run/result.txt /data/run/missed.txt")).trim().split("\n")).toEqual([before, missed]);
  });

  it("two more storage nodes join later: the volume grows by a replica set and keeps its data", async () => {
    const yaml = await readFile(join(dir, "cluster.yaml"), "utf8");
    await writeFile(join(dir, "cluster.yaml"), yaml.replace("    roles: [storage]\n    count: 2\n", "    roles: [storage]\n    count: 4\n"));
    const again = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.stderr).toContain("7 of 7 nodes converged");
    expect(again.stderr).toContain("5 already running");
    let info = "";
    await waitFor(async () => {
      info = (await sh("storage-1", "gluster volume info sprout-shared")).stdout;
      return info.includes("Number of Bricks: 2 x 2 = 4");
    }, 120_000, "the volume to hold 4 bricks");
    expect(info).toContain("Type: Distributed-Replicate");
    // Old data still there; new directories spread over both replica sets.
    const token = randomBytes(8).toString("hex");
    const out = await runPod("after-growth", "service-2", "results", `cat /data/run/result.txt >/dev/null && for i in $(seq 1 40); do mkdir -p /data/spread/d$i && echo ${token} > /data/spread/d$i/f; done && echo ok`);
    expect(out.trim()).toBe("ok");
    const onNew = (await sh("storage-3", `ls ${resultsDir}/spread/*/f 2>/dev/null | wc -l`)).stdout.trim();
    const onOld = (await sh("storage-1", `ls ${resultsDir}/spread/*/f 2>/dev/null | wc -l`)).stdout.trim();
    expect(Number(onNew), "files on the new replica set").toBeGreaterThan(0);
    expect(Number(onOld), "files on the first replica set").toBeGreaterThan(0);
    expect(Number(onNew) + Number(onOld)).toBe(40);
  });
});

interface RecordingProxy {
  /** `CONNECT host:port` or `GET http://…` per request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that records every request and refuses it with 403. */
async function startRecordingProxy(host: string, port: number): Promise<RecordingProxy> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(403).end("refused by the test proxy\n");
  });
  server.on("connect", (req, socket) => {
    requests.push(`CONNECT ${req.url}`);
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return { requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("storage options are checked before anything boots", () => {
  it("refuses replication larger than the number of storage nodes, naming the field", async () => {
    const parent = join(tmpdir(), `sprout-it${randomBytes(3).toString("hex")}-bad`);
    const dir = join(parent, "bad");
    try {
      await mkdir(dir, { recursive: true });
      await run(process.execPath, [SPROUT_CLI, "init", dir]);
      const yaml = (await readFile(join(dir, "cluster.yaml"), "utf8"))
        .replace("  # - name: storage\n  #   roles: [storage]\n  #   count: 2\n", "  - name: storage\n    roles: [storage]\n    count: 2\n")
        .replace(/replication: 1 /, "replication: 3 ");
      await writeFile(join(dir, "cluster.yaml"), yaml);
      const r = await run(process.execPath, [SPROUT_CLI, "up", dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/storage\.replication.*replication 3 is larger than the number of storage nodes \(2\)/);
      expect(r.stderr).not.toContain("booted");
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
