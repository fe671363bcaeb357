import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterStatus } from "../shared/status.js";
import { ensureNodeNetwork } from "../coordinator/providers/local/node-network.js";
import { startMachine } from "../coordinator/providers/local/node-machine.js";
import { run, SPROUT_CLI, testNodeImage, waitFor, type CommandResult } from "./support/harness.js";

/**
 * `sprout up` with two broken nodes among healthy ones: service-2 boots with a corrupt (truncated)
 * bootstrap file, as a failed cloud-init write leaves it; service-3's network has no route to
 * the coordinator, as a wrong firewall or subnet does. `sprout up` must name both nodes with
 * their reason, bring the others up, and end without waiting for its timeout.
 */
describe("sprout up: nodes that cannot join are reported by name while the others come up", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-nf`);
  const dir = join(parent, cluster);
  const NODE_CIDR = "10.241.8.0/24";
  const GATEWAY = "10.241.8.1";
  let up: CommandResult;

  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    await run(process.execPath, [SPROUT_CLI, "init", dir]);
    const yaml = await readFile(join(dir, "cluster.yaml"), "utf8");
    await writeFile(join(dir, "cluster.yaml"), yaml.replace("10.240.0.0/24", NODE_CIDR).replace("127.0.0.1:7443", "127.0.0.1:7552"));

    // The faults are set up with the provider's own parts, before `sprout up` runs: the node
    // network (which `sprout up` reuses), a route that makes the coordinator unreachable from
    // service-3, and service-2 already booted with a truncated bootstrap file.
    const image = await testNodeImage();
    const network = await ensureNodeNetwork(cluster, NODE_CIDR, ["master-1", "service-1", "service-2", "service-3"]);
    const node = (name: string) => network.nodes.find((n) => n.name === name)!;
    execFileSync("ip", ["-n", node("service-3").netns, "route", "add", "unreachable", `${GATEWAY}/32`]);
    const truncated = `coordinators:\n  - https://${GATEWAY}:7552\ntoken: abcdef.0123`;
    await startMachine({
      cluster,
      node: "service-2",
      imageRoot: image.root,
      stateDir: join(dir, ".sprout/machines/service-2"),
      netns: node("service-2").netns,
      address: node("service-2").address,
      files: [{ path: "/etc/sprout/bootstrap.yaml", content: truncated, mode: 0o600 }],
    });

    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--workers", "3", "--timeout", "10m", "--kubeconfig", join(parent, "kubeconfig")]);
    console.log(up.stderr.split("\n").filter((l) => l.includes("never joined") || l.includes("converged in")).join("\n"));
  }, 1_200_000);

  afterAll(async () => {
    await run(process.execPath, [SPROUT_CLI, "down", dir]);
    await rm(parent, { recursive: true, force: true });
  });

  it("names the node with the corrupt bootstrap file and what is wrong in it", () => {
    const line = up.stderr.split("\n").find((l) => l.includes("service-2: never joined"));
    expect(line, up.stderr.slice(-3000)).toBeDefined();
    expect(line).toContain("bootstrap file /etc/sprout/bootstrap.yaml");
    // The agent's validation names the fields: a truncated token, a missing CA pin.
    expect(line).toMatch(/token/);
    expect(line).toMatch(/caPin/);
  });

  it("names the node that cannot reach the coordinator, with the coordinator's address and the error", () => {
    const line = up.stderr.split("\n").find((l) => l.includes("service-3: never joined"));
    expect(line, up.stderr.slice(-3000)).toBeDefined();
    expect(line).toContain(`cannot reach the coordinator at https://${GATEWAY}:7552`);
    expect(line).toMatch(/EHOSTUNREACH|unreachable/i);
  });

  it("brings the healthy nodes up, exits 1, and does not wait for its timeout", async () => {
    expect(up.code, up.stderr.slice(-2000)).toBe(1);
    expect(up.stderr).toContain("2 of 4 nodes converged");
    expect(up.stderr).not.toContain("timed out");
    const status = ClusterStatus.parse(JSON.parse((await run(process.execPath, [SPROUT_CLI, "status", dir, "-o", "json"])).stdout));
    expect(status.nodes.map((n) => [n.name, n.phase]).sort()).toEqual([
      ["master-1", "converged"],
      ["service-1", "converged"],
    ]);
    // Converged comes first; the kubelet reports Ready shortly after.
    let ready: string[] = [];
    await waitFor(async () => {
      const nodes = await run("kubectl", ["--kubeconfig", join(parent, "kubeconfig"), "--request-timeout=15s", "get", "nodes", "--no-headers"]);
      ready = nodes.stdout.trim().split("\n").filter((l) => / Ready /.test(l)).map((l) => l.split(/\s+/)[0]!).sort();
      return ready.length >= 2;
    }, 120_000, "the healthy nodes Ready");
    expect(ready).toEqual(["master-1", "service-1"]);
  });
});
