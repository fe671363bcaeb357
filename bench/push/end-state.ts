import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { TOOLBOX_IMAGE } from "../../test/support/workloads.js";

const run = promisify(execFile);

/**
 * The end state both sides are timed to, checked the same way for each: every node `Ready`; a
 * pod running on every worker, the ones on service nodes writing into the shared (GlusterFS)
 * volume through one ReadWriteMany claim; the edge's nginx answering HTTP.
 */
export interface EndState {
  /** When the last node turned Ready / the last pod ran / the edge answered (epoch ms). */
  readyAt: number;
  podsAt: number;
  edgeAt: number;
}

export async function reachEndState(o: { kubeconfig: string; nodes: { name: string; roles: string[] }[]; edgeAddress: string; deadlineMs: number }): Promise<EndState> {
  const deadline = Date.now() + o.deadlineMs;
  const workers = o.nodes.filter((n) => !n.roles.includes("master")).map((n) => ({ name: n.name, service: n.roles.includes("service") }));
  const k = (...args: string[]) => run("kubectl", ["--kubeconfig", o.kubeconfig, "--request-timeout=20s", ...args], { maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
  const poll = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const readyAt = await poll(`${o.nodes.length} Ready nodes`, async () => {
    const nodes = JSON.parse(await k("get", "nodes", "-o", "json")) as { items: { status: { conditions: { type: string; status: string }[] } }[] };
    const ready = nodes.items.filter((n) => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True")).length;
    return ready >= o.nodes.length ? Date.now() : undefined;
  });
  const objects = [
    { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "bench-shared" }, spec: { accessModes: ["ReadWriteMany"], storageClassName: "sprout-shared", resources: { requests: { storage: "1Gi" } } } },
    ...workers.map((w) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `bench-${w.name}` },
      spec: {
        nodeName: w.name,
        containers: [{
          name: "c",
          image: TOOLBOX_IMAGE,
          imagePullPolicy: "Never",
          command: ["sh", "-c", w.service ? `echo ${w.name} > /data/${w.name} && sleep 3600` : "sleep 3600"],
          ...(w.service ? { volumeMounts: [{ name: "data", mountPath: "/data" }] } : {}),
        }],
        ...(w.service ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "bench-shared" } }] } : {}),
      },
    })),
  ];
  await poll("the test objects to be accepted", async () => {
    const child = execFile("kubectl", ["--kubeconfig", o.kubeconfig, "--request-timeout=20s", "apply", "-f", "-"]);
    child.stdin!.end(JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    return new Promise<true | undefined>((resolve) => child.once("exit", (code) => resolve(code === 0 ? true : undefined)));
  });
  const podsAt = await poll(`a running pod on each of ${workers.length} workers`, async () => {
    const pods = JSON.parse(await k("get", "pods", "-o", "json")) as { items: { metadata: { name: string }; status: { phase?: string } }[] };
    const running = pods.items.filter((p) => p.metadata.name.startsWith("bench-") && p.status.phase === "Running").length;
    return running >= workers.length ? Date.now() : undefined;
  });
  const edgeAt = await poll(`the edge at http://${o.edgeAddress}`, () => new Promise<number | undefined>((resolve) => {
    const req = request({ host: o.edgeAddress, port: 80, path: "/", headers: { host: "bench.invalid" }, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 404 && String(res.headers.server ?? "").startsWith("nginx") ? Date.now() : undefined);
    });
    req.once("error", () => resolve(undefined)).once("timeout", () => req.destroy());
    req.end();
  }));
  return { readyAt, podsAt, edgeAt };
}
