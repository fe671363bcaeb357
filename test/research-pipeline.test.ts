import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { ensureNodeNetwork } from "../coordinator/providers/local/node-network.js";
import { findMachine, type MachineSpec } from "../coordinator/providers/local/node-machine.js";
import { run, SPROUT_CLI, waitFor, type CommandResult } from "./support/harness.js";
import { claimPod, TOOLBOX_IMAGE } from "./support/workloads.js";

/**
 * Storage on demand and a research pipeline, on a fresh `sprout up` with storage nodes (master
 * acting as edge, two service nodes, two storage nodes forming one distributed GlusterFS volume,
 * Kubernetes 1.20). Claims of the shared class each get their own directory with a GlusterFS
 * quota: they bind in seconds, cannot see each other, fail writes past their size, grow when
 * asked, and go (Delete) or stay (Retain) with their claim. A claim without a class is a
 * directory on its pod's node. Claims that cannot be met stay Pending with an Event. Then the
 * pipeline the EBI practical builds: reference data in a ReadOnlyMany claim, a Job of parallel
 * pods that read it, call a Service by its DNS name and write into a shared claim, and a results
 * server reached through a LoadBalancer Service and through an Ingress.
 */
describe("storage on demand and a research pipeline", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-rp`);
  const dir = join(parent, cluster);
  const kubeconfig = join(parent, "kubeconfig");
  const CIDR = "10.241.14.0/24";
  /** master-1, the first node address: the master acts as edge. */
  const EDGE = "10.241.14.10";
  const NODES = ["master-1", "service-1", "service-2", "storage-1", "storage-2"];
  const BRICK = "/srv/sprout/brick/sprout-shared";
  let up: CommandResult;
  const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args]);
  const apply = async (name: string, objects: object[]) => {
    await writeFile(join(parent, `${name}.json`), JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    const r = await kubectl("apply", "-f", join(parent, `${name}.json`));
    expect(r.code, r.stderr).toBe(0);
  };
  const sh = async (node: string, script: string) => {
    const stateDir = join(dir, ".sprout/machines", node);
    const record = JSON.parse(await readFile(join(stateDir, "machine.json"), "utf8")) as Pick<MachineSpec, "imageRoot" | "netns" | "address" | "disks">;
    const m = await findMachine({ cluster, node, stateDir, ...record });
    if (!m) throw new Error(`${node} is not running`);
    return m.exec(["sh", "-c", script], { timeoutMs: 60_000 });
  };
  /** Both bricks' view of a path under the volume: a distributed volume spreads files over them. */
  const onBricks = async (script: string) => (await Promise.all(["storage-1", "storage-2"].map((n) => sh(n, script)))).map((r) => r.stdout).join("");
  const claim = (name: string, size: string, o: { cls?: string | null; modes?: string[]; from?: string } = {}) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name },
    spec: {
      accessModes: o.modes ?? ["ReadWriteMany"],
      ...(o.cls === null ? {} : { storageClassName: o.cls ?? "sprout-shared" }),
      resources: { requests: { storage: size } },
      ...(o.from ? { dataSource: { kind: "PersistentVolumeClaim", name: o.from } } : {}),
    },
  });
  const phaseOf = async (name: string) => (await kubectl("get", "pvc", name, "-o", "jsonpath={.status.phase}")).stdout;
  const volumeOf = async (name: string) => (await kubectl("get", "pvc", name, "-o", "jsonpath={.spec.volumeName}")).stdout;
  const eventsOf = async (kind: string, name: string) => (await kubectl("get", "events", "--field-selector", `involvedObject.kind=${kind},involvedObject.name=${name}`, "-o", 'jsonpath={range .items[*]}{.reason} {.message}{"\\n"}{end}')).stdout;

  /** Runs a pod to completion with `claimName` at /data; its phase and output. */
  async function runPod(name: string, node: string, claimName: string, script: string, readOnly = false): Promise<{ phase: string; logs: string }> {
    await apply(name, [claimPod({ name, node, claim: claimName, script, readOnly })]);
    let phase = "";
    await waitFor(async () => {
      phase = (await kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}")).stdout;
      return phase === "Succeeded" || phase === "Failed";
    }, 180_000, `pod ${name} to finish`);
    const logs = (await kubectl("logs", name)).stdout;
    await kubectl("delete", "pod", name, "--wait=false");
    return { phase, logs };
  }

  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    await run(process.execPath, [SPROUT_CLI, "init", dir]);
    const yaml = (await readFile(join(dir, "cluster.yaml"), "utf8"))
      .replace("10.240.0.0/24", CIDR)
      .replace("127.0.0.1:7443", "127.0.0.1:7558")
      .replace("  # - name: storage\n  #   roles: [storage]\n  #   count: 2\n", "  - name: storage\n    roles: [storage]\n    count: 2\n")
      .replace(/volumeSizeGiB: 10 /, "volumeSizeGiB: 1 ");
    expect(yaml).toContain("    roles: [storage]\n    count: 2\n");
    await writeFile(join(dir, "cluster.yaml"), yaml);
    await ensureNodeNetwork(cluster, CIDR, NODES);
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "8m", "--kubeconfig", kubeconfig]);
  }, 1_200_000);

  afterAll(async () => {
    await run(process.execPath, [SPROUT_CLI, "down", dir]);
    await rm(parent, { recursive: true, force: true });
  });

  it("every node converges, and the storage nodes form one distributed volume with quotas on", async () => {
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stderr).toContain("5 of 5 nodes converged");
    // Quotas are switched on by the provisioner service when it starts, which can be a few
    // seconds after the agent reports convergence; claims wait for it, so the test does too.
    let info = "";
    await waitFor(async () => {
      info = (await sh("storage-1", "gluster volume info sprout-shared")).stdout;
      return info.includes("features.quota: on");
    }, 60_000, "quotas on the shared volume").catch(() => undefined);
    expect(info).toContain("Number of Bricks: 2");
    expect(info).toContain("features.quota: on");
    expect((await kubectl("get", "storageclass", "-o", "jsonpath={range .items[*]}{.metadata.name}={.provisioner} {end}")).stdout.trim().split(" ").sort()).toEqual(["sprout-local=sprout.dev/local-path", "sprout-reference=sprout.dev/glusterfs", "sprout-shared=sprout.dev/glusterfs"]);
  });

  it("five claims in the shared class bind in seconds, each in its own directory, and none sees another's data", async () => {
    const names = ["c1", "c2", "c3", "c4", "c5"];
    const created = Date.now();
    await apply("five", names.map((n) => claim(n, "64Mi")));
    await waitFor(async () => (await kubectl("get", "pvc", ...names, "-o", "jsonpath={.items[*].status.phase}")).stdout === "Bound Bound Bound Bound Bound", 60_000, "five claims bound");
    console.log(`shared storage: five claims bound ${Date.now() - created} ms after kubectl apply`);
    const volumes = await Promise.all(names.map(volumeOf));
    expect(new Set(volumes).size).toBe(5);
    for (const [i, n] of names.entries()) await runPod(`mark-${n}`, i % 2 ? "service-1" : "service-2", n, `echo ${n} > /data/mark`);
    // Each claim's pod sees only its own file, and df shows the claim's size, not the volume's.
    const seen = await runPod("look-c3", "service-1", "c3", "ls -a /data | tr '\\n' ' '; echo; df -kP /data | tail -1 | awk '{print $2}'");
    const [listing, sizeKiB] = seen.logs.trim().split("\n");
    expect(listing!.trim().split(" ").filter((f) => !f.startsWith("."))).toEqual(["mark"]);
    expect(Number(sizeKiB)).toBe(64 * 1024);
    for (const [i, v] of volumes.entries()) expect((await onBricks(`cat ${BRICK}/${v}/mark 2>/dev/null`)).trim()).toBe(names[i]);
  });

  it("writing past a claim's size fails with 'disk quota exceeded'; growing the claim raises the limit", async () => {
    await apply("small", [claim("small", "16Mi")]);
    await waitFor(async () => (await phaseOf("small")) === "Bound", 60_000, "the small claim bound");
    const over = await runPod("overfill", "service-1", "small", "dd if=/dev/zero of=/data/big bs=1M count=40 2>&1; echo exit=$?");
    expect(over.logs).toMatch(/Disk quota exceeded/i);
    expect(over.logs).toMatch(/exit=[1-9]/);
    await runPod("clear", "service-1", "small", "rm -f /data/big");
    // Expansion: the claim asks for more; the limit, the PV and the claim's capacity follow.
    expect((await kubectl("patch", "pvc", "small", "-p", JSON.stringify({ spec: { resources: { requests: { storage: "64Mi" } } } }))).code).toBe(0);
    await waitFor(async () => (await kubectl("get", "pvc", "small", "-o", "jsonpath={.status.capacity.storage}")).stdout === "64Mi", 60_000, "the claim grown to 64Mi");
    expect((await kubectl("get", "pv", await volumeOf("small"), "-o", "jsonpath={.spec.capacity.storage}")).stdout).toBe("64Mi");
    // Grown by Sprout's provisioner alone: the in-tree expander (heketi) does not try first.
    expect(await eventsOf("PersistentVolumeClaim", "small")).not.toContain("VolumeResizeFailed");
    const fits = await runPod("refill", "service-2", "small", "dd if=/dev/zero of=/data/big bs=1M count=40 2>&1; echo exit=$?");
    expect(fits.logs).toContain("exit=0");
  });

  it("deleting a claim removes its data (Delete), and a Retain class keeps it", async () => {
    await apply("keep", [
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "keep" }, provisioner: "sprout.dev/glusterfs", reclaimPolicy: "Retain" },
      claim("gone", "16Mi"),
      claim("kept", "16Mi", { cls: "keep" }),
    ]);
    await waitFor(async () => (await phaseOf("gone")) === "Bound" && (await phaseOf("kept")) === "Bound", 60_000, "both claims bound");
    const [gone, kept] = [await volumeOf("gone"), await volumeOf("kept")];
    await runPod("fill-gone", "service-1", "gone", "echo data > /data/f");
    await runPod("fill-kept", "service-1", "kept", "echo data > /data/f");
    await waitFor(async () => (await kubectl("get", "pod", "fill-gone", "fill-kept")).code !== 0, 60_000, "the pods gone");
    expect((await kubectl("delete", "pvc", "gone", "kept")).code).toBe(0);
    await waitFor(async () => (await kubectl("get", "pv", gone)).code !== 0, 60_000, "the Delete volume removed");
    expect(await onBricks(`ls -d ${BRICK}/${gone} 2>/dev/null`)).toBe("");
    await waitFor(async () => (await kubectl("get", "pv", kept, "-o", "jsonpath={.status.phase}")).stdout === "Released", 60_000, "the Retain volume released");
    expect((await onBricks(`cat ${BRICK}/${kept}/f 2>/dev/null`)).trim()).toBe("data");
  });

  it("a claim without a class binds to local storage on its pod's node", async () => {
    await apply("scratch", [
      claim("scratch", "1Gi", { cls: null, modes: ["ReadWriteOnce"] }),
      { apiVersion: "v1", kind: "Pod", metadata: { name: "scratch-user" }, spec: { nodeSelector: { "kubernetes.io/hostname": "service-2" }, restartPolicy: "Never", containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", "echo local > /data/f"], volumeMounts: [{ name: "d", mountPath: "/data" }] }], volumes: [{ name: "d", persistentVolumeClaim: { claimName: "scratch" } }] } },
    ]);
    await waitFor(async () => (await kubectl("get", "pod", "scratch-user", "-o", "jsonpath={.status.phase}")).stdout === "Succeeded", 120_000, "the local claim's pod done");
    expect((await kubectl("get", "pvc", "scratch", "-o", "jsonpath={.spec.storageClassName}")).stdout).toBe("sprout-local");
    expect((await sh("service-2", `cat /var/lib/sprout/local-volumes/${await volumeOf("scratch")}/f`)).stdout).toBe("local\n");
  });

  it("claims that cannot be met stay Pending with an Event saying why, and do not hold up the others", async () => {
    await apply("unmet", [claim("huge", "100Gi"), claim("wrong-mode", "16Mi", { modes: ["ReadOnlyMany"] }), claim("no-source", "16Mi", { cls: "sprout-reference", modes: ["ReadOnlyMany"] }), claim("unknown-class", "16Mi", { cls: "no-such-class" }), claim("fine", "16Mi")]);
    await waitFor(async () => (await phaseOf("fine")) === "Bound", 60_000, "the good claim bound");
    const expected: [string, RegExp][] = [
      ["huge", /ProvisioningFailed requests 100Gi, more than the shared volume has free: [0-9.]+[MG]i not promised to other claims, of [0-9.]+[MG]i/],
      ["wrong-mode", /ProvisioningFailed storage class sprout-shared gives ReadWriteMany or ReadWriteOnce, not ReadOnlyMany/],
      ["no-source", /ProvisioningFailed storage class sprout-reference is read-only, so a claim starts as a copy of another: set spec.dataSource/],
      ["unknown-class", /storageclass.storage.k8s.io "no-such-class" not found/],
    ];
    for (const [name, why] of expected) {
      let events = "";
      await waitFor(async () => why.test((events = await eventsOf("PersistentVolumeClaim", name))), 60_000, `the Event on ${name}`);
      expect(await phaseOf(name), name).toBe("Pending");
    }
    // A size that does not parse never reaches the cluster: the API server names the field.
    await writeFile(join(parent, "bad-size.json"), JSON.stringify(claim("bad-size", "lots")));
    const refused = await kubectl("apply", "-f", join(parent, "bad-size.json"));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/quantities must match the regular expression|spec.resources.requests/);
    await kubectl("delete", "pvc", "huge", "wrong-mode", "no-source", "unknown-class", "--wait=false");
  });

  it("a claim deleted while its pod runs waits for the pod, keeping its data, then goes", async () => {
    await apply("busy", [claim("busy", "16Mi")]);
    await waitFor(async () => (await phaseOf("busy")) === "Bound", 60_000, "the claim bound");
    const volume = await volumeOf("busy");
    await apply("busy-pod", [claimPod({ name: "busy-user", node: "service-1", claim: "busy", script: "echo still-here > /data/f; sleep 3600" })]);
    await waitFor(async () => (await kubectl("get", "pod", "busy-user", "-o", "jsonpath={.status.phase}")).stdout === "Running", 120_000, "the pod running");
    expect((await kubectl("delete", "pvc", "busy", "--wait=false")).code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await kubectl("get", "pvc", "busy", "-o", "jsonpath={.metadata.deletionTimestamp}")).stdout).not.toBe("");
    expect((await kubectl("exec", "busy-user", "--", "cat", "/data/f")).stdout).toBe("still-here\n");
    await kubectl("delete", "pod", "busy-user", "--grace-period=1");
    await waitFor(async () => (await kubectl("get", "pv", volume)).code !== 0, 90_000, "the claim and its volume gone after the pod");
    expect(await onBricks(`ls -d ${BRICK}/${volume} 2>/dev/null`)).toBe("");
  });

  it("the research pipeline: a Job's pods read the reference claim, call a Service by name, write results served through a LoadBalancer and an Ingress", async () => {
    // The reference dataset: written once into a shared claim, then copied into a read-only claim.
    await apply("staging", [claim("staging", "32Mi")]);
    await waitFor(async () => (await phaseOf("staging")) === "Bound", 60_000, "the staging claim bound");
    const staged = await runPod("stage", "service-1", "staging", "for i in $(seq 1 5000); do echo \">seq$i ACGTACGTTTGACCA\"; done > /data/genome.fa; md5sum /data/genome.fa | cut -d' ' -f1");
    const checksum = staged.logs.trim();
    expect(checksum).toMatch(/^[0-9a-f]{32}$/);
    await apply("reference", [claim("reference", "32Mi", { cls: "sprout-reference", modes: ["ReadOnlyMany"], from: "staging" }), claim("results", "32Mi")]);
    await waitFor(async () => (await phaseOf("reference")) === "Bound" && (await phaseOf("results")) === "Bound", 60_000, "the reference and results claims bound");

    // A service the pipeline's steps call by DNS name.
    await apply("annotator", [
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "annotator" }, spec: { replicas: 2, selector: { matchLabels: { app: "annotator" } }, template: { metadata: { labels: { app: "annotator" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never" }] } } } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "annotator" }, spec: { selector: { app: "annotator" }, ports: [{ port: 80 }] } },
    ]);
    expect((await kubectl("rollout", "status", "deployment/annotator", "--timeout=120s")).code).toBe(0);

    const step = [
      "set -e",
      "lines=$(wc -l < /ref/genome.fa)",
      "sum=$(md5sum /ref/genome.fa | cut -d' ' -f1)",
      "who=$(wget -qO- http://annotator.default.svc.cluster.local/cgi-bin/hostname)",
      "if touch /ref/changed 2>/dev/null; then ro=writable; else ro=read-only; fi",
      'echo "$HOSTNAME $lines $sum $who $ro" > /results/$HOSTNAME.txt',
    ].join("\n");
    const started = Date.now();
    await apply("pipeline", [
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "pipeline" },
        spec: {
          completions: 6,
          parallelism: 6,
          backoffLimit: 2,
          template: {
            spec: {
              restartPolicy: "Never",
              containers: [{ name: "step", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", step], volumeMounts: [{ name: "ref", mountPath: "/ref" }, { name: "results", mountPath: "/results" }] }],
              // No readOnly here: the reference class itself keeps the data unchanged.
              volumes: [{ name: "ref", persistentVolumeClaim: { claimName: "reference" } }, { name: "results", persistentVolumeClaim: { claimName: "results" } }],
            },
          },
        },
      },
    ]);
    await waitFor(async () => (await kubectl("get", "job", "pipeline", "-o", "jsonpath={.status.succeeded}")).stdout === "6", 300_000, "the Job's 6 pods succeeded");
    console.log(`research pipeline: 6 parallel steps done ${Date.now() - started} ms after kubectl apply`);
    const pods = (await kubectl("get", "pods", "-l", "job-name=pipeline", "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{\"\\n\"}{end}")).stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]);
    expect(pods).toHaveLength(6);
    const annotators = (await kubectl("get", "pods", "-l", "app=annotator", "-o", "jsonpath={.items[*].metadata.name}")).stdout.split(" ");

    // The results server: the results claim, read-only, behind a LoadBalancer and an Ingress.
    await apply("results-web", [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "results-web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "results-web" } },
          template: { metadata: { labels: { app: "results-web" } }, spec: { containers: [{ name: "c", image: TOOLBOX_IMAGE, imagePullPolicy: "Never", command: ["httpd", "-f", "-p", "8080", "-h", "/results"], volumeMounts: [{ name: "results", mountPath: "/results", readOnly: true }] }], volumes: [{ name: "results", persistentVolumeClaim: { claimName: "results", readOnly: true } }] } },
        },
      },
      { apiVersion: "v1", kind: "Service", metadata: { name: "results-web" }, spec: { type: "LoadBalancer", selector: { app: "results-web" }, ports: [{ name: "http", port: 8088, targetPort: 8080 }] } },
      { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "results" }, spec: { rules: [{ host: "results", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "results-web", port: { name: "http" } } } }] } }] } },
    ]);
    expect((await kubectl("rollout", "status", "deployment/results-web", "--timeout=120s")).code).toBe(0);
    const fetchText = async (url: string, host?: string) => {
      const r = await request(url, { headers: host ? { host } : {}, headersTimeout: 5000, bodyTimeout: 5000 }).catch(() => undefined);
      const text = r ? await r.body.text() : "";
      return r?.statusCode === 200 ? text : undefined;
    };
    await waitFor(async () => (await fetchText(`http://${EDGE}:8088/${pods[0]![0]}.txt`)) !== undefined, 60_000, "the results server through its LoadBalancer");
    for (const [pod] of pods) {
      const viaLb = await fetchText(`http://${EDGE}:8088/${pod}.txt`);
      const [name, lines, sum, who, ro] = (viaLb ?? "").trim().split(" ");
      expect([name, lines, sum, ro], pod).toEqual([pod, "5000", checksum, "read-only"]);
      expect(annotators, pod).toContain(who);
    }
    let viaIngress: string | undefined;
    await waitFor(async () => (viaIngress = await fetchText(`http://${EDGE}/${pods[5]![0]}.txt`, `results.${EDGE}.nip.io`)) !== undefined, 60_000, "the results server through the Ingress");
    expect(viaIngress!.trim().split(" ")[0]).toBe(pods[5]![0]);
  });
});
