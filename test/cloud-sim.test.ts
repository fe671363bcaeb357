import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterStatus } from "../shared/status.js";
import { ed25519KeyPair } from "../coordinator/providers/ssh/host-keys.js";
import { cleanupCluster, startMachine, stopMachine } from "../coordinator/providers/local/node-machine.js";
import { destroyNodeNetwork } from "../coordinator/providers/local/node-network.js";
import { run, SPROUT_CLI, testNodeCidr, testNodeImage, waitFor, type CommandResult } from "./support/harness.js";

const REPO = resolve(import.meta.dirname, "..");

/**
 * The cloud flow of `sprout up`, end to end, with `tofu` replaced by a fake cloud
 * (test/support/fake-tofu.ts) that boots each aws_instance of the rendered main.tf as a local node
 * machine and applies its user-data as cloud-init would. From there on it is all real: the CLI
 * SSHes to the master (host key pinned at render time), hands over the key to the sealed
 * coordinator state, the master unseals it and runs the coordinator, every node's agent joins
 * it with the token from its user-data, and the CLI follows them through an SSH tunnel; then
 * `sprout status` and kubectl (through `sprout tunnel`) work from here.
 */
describe("cloud provider (aws, on a fake cloud): sprout up with the coordinator on the master", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const parent = join(tmpdir(), `sprout-${cluster}-cloud`);
  const dir = join(parent, cluster);
  const bin = join(parent, "bin");
  const kubeconfig = join(parent, "kubeconfig");
  let up: CommandResult;
  const env = () => ({ ...process.env, PATH: `${bin}:${process.env.PATH}` });

  beforeAll(async () => {
    await testNodeImage();
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, "tofu"), `#!/bin/sh\nexec "${join(REPO, "node_modules/.bin/tsx")}" "${join(REPO, "test/support/fake-tofu.ts")}" "$@"\n`);
    await chmod(join(bin, "tofu"), 0o755);
    const key = ed25519KeyPair();
    await writeFile(join(parent, "id_ed25519"), key.private, { mode: 0o600 });
    await writeFile(join(parent, "id_ed25519.pub"), `${key.public}\n`);
    expect((await run(process.execPath, [SPROUT_CLI, "init", dir])).code).toBe(0);
    const doc = {
      name: cluster,
      provider: { type: "aws", region: "eu-north-1", image: "sprout-node", sshPublicKeyFile: join(parent, "id_ed25519.pub"), sshUser: "root" },
      nodeGroups: [
        { name: "master", roles: ["master", "edge"], count: 1 },
        { name: "service", roles: ["service"], count: 2 },
      ],
      networks: { nodeCidr: testNodeCidr(cluster, "10.246") },
      coordinator: { listen: "0.0.0.0:7443" },
    };
    await writeFile(join(dir, "cluster.yaml"), stringify(doc));
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "6m", "--kubeconfig", kubeconfig], { env: env() });
  }, 900_000);

  afterAll(async () => {
    await cleanupCluster(cluster);
    await destroyNodeNetwork(cluster);
    await rm(parent, { recursive: true, force: true });
  }, 120_000);

  it("creates the VMs, hands the master its key, and follows every node to converged through the tunnel", () => {
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stderr).toContain("3 VM(s) on aws");
    expect(up.stderr).toContain("the master has the key to its coordinator state");
    expect(up.stderr).toContain("3 of 3 nodes converged");
  });

  it("answers sprout status from here, through SSH to the master's coordinator", async () => {
    const r = await run(process.execPath, [SPROUT_CLI, "status", dir, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const status = ClusterStatus.parse(JSON.parse(r.stdout));
    expect(status.nodes.map((n) => [n.name, n.phase]).sort()).toEqual([
      ["master-1", "converged"],
      ["service-1", "converged"],
      ["service-2", "converged"],
    ]);
  });

  it("a second sprout up finds the VMs and the running cluster: same user-data, the master keeps its pinned host key", async () => {
    const userData = await readFile(join(dir, ".sprout/cloud/aws/user-data/master-1.yaml"), "utf8");
    const again = await run(process.execPath, [SPROUT_CLI, "up", dir, "--timeout", "3m", "--kubeconfig", kubeconfig], { env: env() });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.stderr).toContain("instance(s) exist; no changes");
    expect(again.stderr).toContain("3 of 3 nodes converged");
    expect(await readFile(join(dir, ".sprout/cloud/aws/user-data/master-1.yaml"), "utf8")).toBe(userData);
  });

  it("the master reboots: its coordinator comes back without the key (/run is empty again), and sprout status answers", async () => {
    const stateDir = join(dir, ".sprout/cloud/aws/.fake-cloud/master-1");
    const record = JSON.parse(await readFile(join(stateDir, "machine.json"), "utf8")) as { imageRoot: string; netns: string };
    const spec = { cluster, node: "master-1", imageRoot: record.imageRoot, stateDir, netns: record.netns };
    await stopMachine(spec, { graceful: true, timeoutMs: 30_000 });
    const machine = await startMachine(spec);
    expect((await machine.exec(["test", "-e", "/run/sprout/coordinator-state.key"])).code).not.toBe(0);
    await waitFor(async () => {
      const r = await run(process.execPath, [SPROUT_CLI, "status", dir, "-o", "json"]);
      if (r.code !== 0) return false;
      const status = ClusterStatus.parse(JSON.parse(r.stdout));
      return status.nodes.length === 3 && status.nodes.every((n) => n.phase === "converged");
    }, 120_000, "the master's coordinator answering after the reboot");
  });

  it("lets kubectl reach the API server through sprout tunnel, with the kubeconfig sprout up wrote", async () => {
    expect(await readFile(kubeconfig, "utf8")).toContain("https://127.0.0.1:16443");
    const tunnel = spawn(process.execPath, [SPROUT_CLI, "tunnel", dir], { stdio: ["ignore", "ignore", "pipe"] });
    try {
      await waitFor(async () => {
        const r = await run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=10s", "get", "nodes", "--no-headers"]);
        return r.stdout.trim().split("\n").filter((l) => / Ready /.test(l)).length === 3;
      }, 120_000, "3 Ready nodes through the tunnel");
    } finally {
      tunnel.kill("SIGTERM");
    }
  });
});
