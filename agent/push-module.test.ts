import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateClusterPki, type ClusterPki } from "../coordinator/pki/cluster-pki.js";
import { signProfileCertificate } from "../coordinator/pki/profile-cert.js";
import { signNodeCertificate, validateNodeCsr } from "../coordinator/pki/node-csr.js";
import { NODE_PATHS } from "../shared/node-manifest.js";

/**
 * `sprout-agent step` as the push baseline's workstation drives it: a separate process, the
 * request on stdin or in a file, and the workstation answering its questions line by line.
 */
const MAIN = join(import.meta.dirname, "main.ts");
let pki: ClusterPki;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-push-module-"));
  pki = await loadOrCreateClusterPki(join(dir, "pki"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the module against `root`; `answer` plays the workstation. */
function module(root: string, o: { stdin?: string; argsFile?: string; answer?: (q: Record<string, unknown>) => object }): Promise<{ code: number; lines: Record<string, unknown>[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "step", "--root", root, ...(o.argsFile ? ["--args", o.argsFile] : [])], { stdio: ["pipe", "pipe", "pipe"] });
    const lines: Record<string, unknown>[] = [];
    let buf = "";
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const q = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(q);
        if (!("result" in q) && o.answer) child.stdin.write(`${JSON.stringify(o.answer(q))}\n`);
      }
    });
    if (o.stdin !== undefined) child.stdin.write(o.stdin);
    if (!o.answer) child.stdin.end();
    child.once("close", (code) => resolve({ code: code ?? -1, lines, stderr }));
  });
}

describe("sprout-agent step (the push baseline's module)", () => {
  it("applies a file step from stdin (pipelining), and finds nothing to do the second time", async () => {
    const root = join(dir, "file-root");
    const request = { step: { id: "demo/file", description: "a file", kind: "file", path: "/etc/demo.conf", content: "x = 1\n", mode: 0o640 } };
    const first = await module(root, { stdin: `${JSON.stringify(request)}\n` });
    expect(first.code, first.stderr).toBe(0);
    expect(first.lines.at(-1)).toMatchObject({ result: { outcome: "changed" } });
    expect(await readFile(join(root, "etc/demo.conf"), "utf8")).toBe("x = 1\n");
    const again = await module(root, { stdin: `${JSON.stringify(request)}\n` });
    expect(again.lines.at(-1)).toMatchObject({ result: { outcome: "unchanged" } });
  }, 60_000);

  it("has the workstation sign a certificate step's CSR over the same channel (request from --args, no pipelining)", async () => {
    const root = join(dir, "cert-root");
    await mkdir(join(root, "etc/kubernetes/pki"), { recursive: true });
    await writeFile(join(root, "etc/kubernetes/pki/ca.crt"), pki.caCertPem);
    const args = join(dir, "args.json");
    await writeFile(args, JSON.stringify({ step: { id: "certs/kube-proxy", description: "kube-proxy identity", kind: "certificate", profile: "kube-proxy", keyPath: "/etc/kubernetes/pki/kube-proxy.key", certPath: "/etc/kubernetes/pki/kube-proxy.crt", caPath: "/etc/kubernetes/pki/ca.crt" } }));
    const asked: string[] = [];
    const r = await module(root, {
      argsFile: args,
      answer: (q) => {
        const sign = q.sign as { profile: "kube-proxy"; csr: string };
        asked.push(sign.profile);
        return { signed: signProfileCertificate(pki, sign, { name: "service-1", addresses: ["10.0.0.2"], roles: ["service"] }, { serviceCidr: "10.96.0.0/12", clusterDomain: "cluster.local" }) };
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(asked).toEqual(["kube-proxy"]);
    const cert = new X509Certificate(await readFile(join(root, "etc/kubernetes/pki/kube-proxy.crt")));
    expect(cert.subject).toContain("CN=system:kube-proxy");
    expect(cert.checkIssued(new X509Certificate(pki.caCertPem))).toBe(true);
  }, 60_000);

  it("makes the node's key and stores the node certificate the workstation signs (the push side's join)", async () => {
    const root = join(dir, "identity-root");
    const r = await module(root, {
      stdin: `${JSON.stringify({ identity: { nodeName: "storage-1", addresses: ["10.0.0.3"] } })}\n`,
      answer: (q) => ({ signed: { certificate: signNodeCertificate(pki, validateNodeCsr(q.signNode as string, { nodeName: "storage-1", allowedDnsNames: ["storage-1"], allowedIps: ["10.0.0.3"] }), "storage-1"), caCertificate: pki.caCertPem } }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(new X509Certificate(await readFile(join(root, NODE_PATHS.nodeCert.slice(1)))).subject).toContain("CN=system:node:storage-1");
    expect((await readFile(join(root, NODE_PATHS.nodeKey.slice(1)), "utf8")).length).toBeGreaterThan(0);
  }, 60_000);

  it("refuses a malformed request, naming where it came from", async () => {
    const r = await module(join(dir, "bad-root"), { stdin: '{"step": {"id": "x"}}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/request on stdin/);
  }, 60_000);
});
