import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ed25519KeyPair } from "../coordinator/providers/ssh/host-keys.js";
import { run, SPROUT_CLI } from "./support/harness.js";

/**
 * `sprout up` on a cloud provider, from the CLI, on a machine without tofu or terraform (this one):
 * it renders everything, creates nothing, says how to go on, and a second run renders anew. A
 * broken cloud section is refused before anything is written, naming the field.
 */
describe("sprout up on a cloud without tofu/terraform installed", () => {
  let root: string;
  const dir = () => join(root, "labaws");

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "sprout-cloudup-"));
    await writeFile(join(root, "id.pub"), `${ed25519KeyPair().public}\n`);
    expect((await run(process.execPath, [SPROUT_CLI, "init", dir()])).code).toBe(0);
    const doc = {
      name: "labaws",
      kubernetesVersion: "1.31.0",
      provider: { type: "aws", region: "eu-north-1", image: "ami-0123456789abcdef0", sshPublicKeyFile: join(root, "id.pub") },
      nodeGroups: [
        { name: "master", roles: ["master", "edge"], count: 1 },
        { name: "service", roles: ["service"], count: 2 },
      ],
    };
    await writeFile(join(dir(), "cluster.yaml"), stringify(doc));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("renders main.tf and one user-data file per VM, creates nothing, and says what to run", async () => {
    const r = await run(process.execPath, [SPROUT_CLI, "up", dir()], { env: { ...process.env, PATH: "/usr/bin:/bin" } });
    expect(r.code, r.stderr).toBe(0);
    const out = join(dir(), ".sprout/cloud/aws");
    expect(r.stderr).toContain(`3 VM(s) on aws; configuration in ${out}`);
    expect(r.stderr).toContain("neither tofu nor terraform is installed: nothing was created");
    expect(r.stderr).toContain(`tofu apply -parallelism=100`);
    expect((await readdir(join(out, "user-data"))).sort()).toEqual(["master-1.yaml", "service-1.yaml", "service-2.yaml"]);
    expect(await readFile(join(out, "main.tf"), "utf8")).toContain('resource "aws_instance" "node_master-1"');
    expect((await stat(join(out, "state.key"))).mode & 0o777).toBe(0o600);
  });

  it("sprout down leaves cloud VMs to tofu destroy, and says so", async () => {
    const r = await run(process.execPath, [SPROUT_CLI, "down", dir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("remove the VMs with `tofu destroy`");
    expect(await readFile(join(dir(), ".sprout/cloud/aws/state.key"), "utf8")).not.toBe("");
  });

  it("refuses a cloud section with a missing field, naming it, and writes nothing", async () => {
    const bad = join(root, "labbad");
    expect((await run(process.execPath, [SPROUT_CLI, "init", bad])).code).toBe(0);
    await writeFile(join(bad, "cluster.yaml"), stringify({ name: "labbad", provider: { type: "gcp", image: "sprout-node", project: "p", zone: "europe-north1-a" } }));
    const r = await run(process.execPath, [SPROUT_CLI, "up", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/provider\.region/);
    await expect(stat(join(bad, ".sprout/cloud"))).rejects.toThrow();
  });
});
