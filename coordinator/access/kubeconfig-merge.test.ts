import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renderKubeconfig } from "../../shared/kubeconfig.js";
import { UserError } from "../../shared/errors.js";
import { mergeKubeconfig } from "./kubeconfig-merge.js";

const config = (name: string, server: string) =>
  renderKubeconfig({ clusterName: name, server, user: `${name}-admin`, contextName: name, ca: { pem: "CA" }, client: { certPem: "C", keyPem: "K" } });

describe("mergeKubeconfig", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sprout-kcfg-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps other clusters, replaces its own entries, switches the context, writes 0600", async () => {
    const target = join(dir, "config");
    await writeFile(target, config("other", "https://other:6443"));
    await mergeKubeconfig(target, config("sprout-a", "https://10.0.0.1:6443"));
    await mergeKubeconfig(target, config("sprout-a", "https://10.0.0.2:6443"));
    const merged = parse(await readFile(target, "utf8")) as { clusters: { name: string; cluster: { server: string } }[]; "current-context": string };
    expect(merged.clusters.map((c) => c.name)).toEqual(["other", "sprout-a"]);
    expect(merged.clusters[1]!.cluster.server).toBe("https://10.0.0.2:6443");
    expect(merged["current-context"]).toBe("sprout-a");
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it("refuses a file that is not a kubeconfig and leaves it as it was", async () => {
    const target = join(dir, "config");
    await writeFile(target, "clusters: [unclosed\n");
    await expect(mergeKubeconfig(target, config("sprout-a", "https://10.0.0.1:6443"))).rejects.toBeInstanceOf(UserError);
    expect(await readFile(target, "utf8")).toBe("clusters: [unclosed\n");
  });

  it("creates the file when there is none", async () => {
    const target = join(dir, "sub", "config");
    await mergeKubeconfig(target, config("sprout-a", "https://10.0.0.1:6443"));
    expect((parse(await readFile(target, "utf8")) as { "current-context": string })["current-context"]).toBe("sprout-a");
  });
});
