import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealHost } from "../host/real-host.js";
import { JOURNAL_PATH, Journal, canonicalJson, stepHash } from "./journal.js";
import { steps } from "./test-helpers.js";
import type { StepOf } from "../../shared/steps.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sprout-journal-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const step = steps({ kind: "file", id: "f", description: "f", path: "/f", content: "x" })[0] as StepOf<"file">;

describe("stepHash", () => {
  it("does not depend on key order and changes with any field", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] })).toBe('{"a":[2,{"c":3}],"b":1}');
    const reordered = Object.fromEntries(Object.entries(step).reverse()) as typeof step;
    expect(stepHash(reordered!)).toBe(stepHash(step));
    expect(stepHash({ ...step, mode: 0o600 })).not.toBe(stepHash(step));
    expect(stepHash(step)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("Journal", () => {
  it("starts empty without a file, saves with mode 0600 and reads back", async () => {
    const host = new RealHost({ root });
    const journal = await Journal.load(host);
    expect(journal.entries()).toEqual({});
    journal.record(step, "changed", new Date("2024-01-02T03:04:05Z"));
    await journal.save();

    const real = join(root, JOURNAL_PATH);
    expect((await stat(real)).mode & 0o7777).toBe(0o600);
    expect(JSON.parse(await readFile(real, "utf8"))).toEqual({
      version: 1,
      steps: { f: { inputHash: stepHash(step), outcome: "changed", appliedAt: "2024-01-02T03:04:05.000Z" } },
    });
    expect((await Journal.load(host)).get("f")?.outcome).toBe("changed");
  });

  it("keeps appliedAt for an unchanged step with the same input, renews it when the input changed", async () => {
    const journal = await Journal.load(new RealHost({ root }));
    journal.record(step, "changed", new Date("2024-01-01T00:00:00Z"));
    journal.record(step, "unchanged", new Date("2024-06-01T00:00:00Z"));
    expect(journal.get("f")).toMatchObject({ outcome: "unchanged", appliedAt: "2024-01-01T00:00:00.000Z" });
    journal.record({ ...step, content: "y" }, "unchanged", new Date("2024-07-01T00:00:00Z"));
    expect(journal.get("f")?.appliedAt).toBe("2024-07-01T00:00:00.000Z");
  });

  it("tolerates corrupt JSON and a wrong shape, with a warning", async () => {
    const host = new RealHost({ root });
    await mkdir(join(root, "var/lib/sprout"), { recursive: true });
    const warnings: string[] = [];
    for (const text of ["{ nope", '{"version": 2, "steps": {}}', '{"version": 1, "steps": {"f": {"outcome": "weird"}}}']) {
      await writeFile(join(root, JOURNAL_PATH), text);
      const journal = await Journal.load(host, { warn: (m) => warnings.push(m) });
      expect(journal.entries()).toEqual({});
    }
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^the journal \/var\/lib\/sprout\/journal.json is not valid JSON .*; starting a new one$/);
    expect(warnings[1]).toMatch(/unexpected shape/);
  });
});
