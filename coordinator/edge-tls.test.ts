import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterSpec } from "../shared/cluster-spec.js";
import { loadEdgeTls } from "./edge-tls.js";

/** Real certificates from openssl: one good pair, one foreign key. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-edge-tls-"));
  const cert = (name: string, days: string) =>
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", days, "-subj", "/CN=*.lab.example.org"], { stdio: "ignore" });
  cert("good", "30");
  cert("other", "30");
  await writeFile(join(dir, "junk.crt"), "not a certificate\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = (tls?: { certFile: string; keyFile: string }) => ClusterSpec.parse({ name: "demo", edge: { baseDomain: "lab.example.org", tls } });

describe("the user's edge certificate (edge.tls)", () => {
  it("is read relative to the deployment directory when the key matches", async () => {
    const tls = await loadEdgeTls(spec({ certFile: "good.crt", keyFile: "good.key" }), dir);
    expect(tls?.certPem).toContain("BEGIN CERTIFICATE");
    expect(tls?.keyPem).toContain("PRIVATE KEY");
    expect(await loadEdgeTls(spec(), dir)).toBeUndefined();
  });

  it("refuses, naming the field: a missing file, not a certificate, someone else's key, an expired certificate", async () => {
    await expect(loadEdgeTls(spec({ certFile: "missing.crt", keyFile: "good.key" }), dir)).rejects.toThrow(/^edge\.tls\.certFile: cannot read .*missing\.crt \(ENOENT\)$/);
    await expect(loadEdgeTls(spec({ certFile: "junk.crt", keyFile: "good.key" }), dir)).rejects.toThrow("edge.tls.certFile: junk.crt is not a PEM certificate");
    await expect(loadEdgeTls(spec({ certFile: "good.crt", keyFile: "other.key" }), dir)).rejects.toThrow("edge.tls.keyFile: other.key is not the key of the certificate in good.crt");
    await expect(loadEdgeTls(spec({ certFile: "good.crt", keyFile: "good.key" }), dir, new Date(Date.now() + 40 * 86_400_000))).rejects.toThrow(/^edge\.tls\.certFile: the certificate in good\.crt expired on /);
  });

  it("cluster.yaml refuses a base domain that is not a DNS name", () => {
    const r = ClusterSpec.safeParse({ name: "demo", edge: { baseDomain: "Lab Example" } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["edge", "baseDomain"]);
  });
});
