import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";
import { minorSupport } from "../shared/versions.js";

/** packer/ is HCL2 that HashiCorp's parser reads, and it runs image-build/cloud-image.sh with everything that script needs. */
const here = import.meta.dirname;
const template = readFileSync(join(here, "sprout-node.pkr.hcl"), "utf8");
const script = join(here, "../image-build/cloud-image.sh");

type Doc = Record<string, Record<string, Record<string, Record<string, unknown>[]>> | Record<string, unknown>[]>;

describe("packer template", () => {
  it("parses, with an openstack, amazon-ebs, googlecompute and azure-arm source, all in one build", async () => {
    const doc = (await parse("sprout-node.pkr.hcl", template)) as Doc;
    const sources = doc.source as Record<string, Record<string, unknown>>;
    expect(Object.keys(sources).sort()).toEqual(["amazon-ebs", "azure-arm", "googlecompute", "openstack"]);
    const build = (doc.build as Record<string, unknown>[])[0] as { sources: string[]; provisioner: Record<string, unknown>[] };
    expect(build.sources.sort()).toEqual(["source.amazon-ebs.node", "source.azure-arm.node", "source.googlecompute.node", "source.openstack.node"]);
  });

  it("builds a Kubernetes the agent renders for, and hands cloud-image.sh every variable it requires", async () => {
    const doc = (await parse("sprout-node.pkr.hcl", template)) as Doc;
    const vars = doc.variable as unknown as Record<string, { default: string }[]>;
    expect(minorSupport(vars.kubernetes_version![0]!.default)).toBeDefined();
    const shells = JSON.stringify(doc.build);
    expect(shells).toContain("cloud-image.sh");
    const required = [...readFileSync(script, "utf8").matchAll(/"\$\{([A-Z_]+):\?\}"/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(5);
    for (const v of required) expect(shells, v).toContain(`${v}=`);
    // The files the build uploads exist in a checkout (dist/ after npm run build).
    for (const f of ["image-build/agent/sprout-agent", "image-build/agent/sprout", "image-build/agent/sprout-agent.service", "image-build/cloud-image.sh"]) expect(existsSync(join(here, "..", f)), f).toBe(true);
  });

  it("cloud-image.sh is valid bash, checks what it downloads, and leaves no identity behind", () => {
    execFileSync("bash", ["-n", script]);
    const text = readFileSync(script, "utf8");
    expect(text).toMatch(/sha256sum -c/);
    expect(text).not.toMatch(/curl[^\n|]*\|\s*(ba)?sh/); // nothing piped into a shell
    for (const cleanup of ["cloud-init clean", "rm -f /etc/ssh/ssh_host_*", "truncate -s 0 /etc/machine-id"]) expect(text).toContain(cleanup);
  });
});
