import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_BUNDLE, run, SPROUT_CLI } from "./support/harness.js";

/**
 * Files a user writes, with a field Sprout does not know, refused by the real CLI and agent
 * processes: exit 2, the file, the line, the field's path and the field it likely meant, and
 * nothing written (a misspelt field must never silently fall back to its default).
 */
describe("unknown fields in files a user writes", () => {
  let tmp = "";
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sprout-user-files-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function deployment(name: string, clusterYaml: string): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir);
    await writeFile(join(dir, "cluster.yaml"), clusterYaml);
    return dir;
  }

  const cases: { name: string; yaml: string; line: number; path: string; hint: RegExp }[] = [
    { name: "typo", yaml: "name: typo\ncoordinator:\n  tokenTTL: 1s\n", line: 3, path: "coordinator.tokenTTL", hint: /did you mean "tokenTtl"\?/ },
    { name: "top-level", yaml: "name: toplevel\nworkers: 9\n", line: 2, path: "workers", hint: /known fields here: .*nodeGroups/ },
    { name: "in-a-group", yaml: "name: group\nnodeGroups:\n  - name: master\n    roles: [master]\n    count: 1\n    memoryMib: 2048\n", line: 6, path: "nodeGroups[0].memoryMib", hint: /did you mean "memoryMiB"\?/ },
  ];

  for (const c of cases) {
    for (const command of [["up"], ["up", "--dry-run"], ["init"], ["serve"], ["down"]]) {
      it(`sprout ${command.join(" ")} refuses ${c.path} (${c.name}) and writes nothing`, async () => {
        const dir = await deployment(`${c.name}-${command.join("")}`, c.yaml);
        const r = await run(process.execPath, [SPROUT_CLI, command[0]!, dir, ...command.slice(1)]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${join(dir, "cluster.yaml")} is invalid`);
        expect(r.stderr).toContain(`line ${c.line}: ${c.path}: unknown field`);
        expect(r.stderr).toMatch(c.hint);
        expect(await readdir(dir)).toEqual(["cluster.yaml"]);
        expect(await readFile(join(dir, "cluster.yaml"), "utf8")).toBe(c.yaml);
      });
    }
  }

  it("the agent refuses a bootstrap file with an unknown field before it joins", async () => {
    const root = join(tmp, "node-root");
    const file = join(tmp, "bootstrap.yaml");
    const text = "coordinators: [https://127.0.0.1:9]\ntoken: abcdef.0123456789abcdef\ncaPin: sha256:" + "0".repeat(64) + "\nroles: [service]\nnodename: service-9\n";
    await writeFile(file, text, { mode: 0o600 });
    const r = await run(process.execPath, [AGENT_BUNDLE, "run", "--once", "--bootstrap", file, "--root", root, "--join-timeout", "5"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`bootstrap file ${file} is invalid`);
    expect(r.stderr).toContain('line 5: nodename: unknown field; did you mean "nodeName"?');
    expect(r.stderr).not.toContain("0123456789abcdef"); // the token's secret stays out of the message
    expect(await readFile(file, "utf8")).toBe(text);
  });
});
