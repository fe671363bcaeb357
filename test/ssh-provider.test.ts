import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { bootPushMachines, type PushMachines } from "../bench/push/push-machines.js";
import { kubenowTopology, topologySpec } from "../bench/push/topology.js";
import { reachEndState } from "../bench/push/end-state.js";
import { ed25519KeyPair, fingerprint, publicBlob } from "../coordinator/providers/ssh/host-keys.js";
import { SshSession } from "../coordinator/providers/ssh/ssh-session.js";
import { run, SPROUT_CLI, testNodeCidr, testNodeImage, type CommandResult } from "./support/harness.js";

const exec = promisify(execFile);

/**
 * `sprout up --provider ssh` on machines that exist already: three node machines booted from the
 * plain Debian image (systemd, sshd, Node.js — no containerd, no Kubernetes, no agent), each with
 * its own host key. The CLI checks every host key (one pinned in cluster.yaml, two in a hashed
 * known_hosts), installs what each host lacks from the node bundle over SSH, starts the agents,
 * and the nodes pull the rest: Ready, a pod on each worker, the shared GlusterFS volume written,
 * the edge answering.
 */
describe("ssh provider: existing machines become a cluster", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  const nodeCidr = testNodeCidr(cluster, "10.245");
  const { spec: machinesSpec } = topologySpec(cluster, kubenowTopology(3), { nodeCidr, coordinatorPort: 7445 });
  const parent = join(tmpdir(), `sprout-${cluster}-ssh`);
  const dir = join(parent, cluster);
  let work: string;
  let machines: PushMachines;
  let up: CommandResult;
  const kubeconfig = join(parent, "kubeconfig");

  /** cluster.yaml for these hosts; `pins` overrides a host's pinned fingerprint. */
  const clusterYaml = (name: string, hosts: PushMachines["hosts"], pins: Record<string, string>) =>
    stringify({
      name,
      provider: {
        type: "ssh",
        knownHosts: join(work, "known_hosts"),
        hosts: hosts.map((h) => ({ address: h.address, name: h.name, roles: h.roles, keyFile: join(work, "id_ed25519"), ...(pins[h.name] ? { hostKey: pins[h.name] } : {}) })),
      },
      networks: { nodeCidr },
      storage: { replication: 1, volumeSizeGiB: 2 },
      coordinator: { listen: `${machines.network.gateway}:7445` },
    });

  beforeAll(async () => {
    const vanilla = await testNodeImage("vanilla");
    await testNodeImage(); // the node bundle is taken from Sprout's image
    work = await mkdtemp(join(tmpdir(), `sprout-${cluster}-hosts-`));
    machines = await bootPushMachines(machinesSpec, { imageRoot: vanilla.root, stateDir: join(work, "machines"), keepAgent: true });
    await writeFile(join(work, "id_ed25519"), machines.clientKey, { mode: 0o600 });
    // known_hosts for every host but the master (whose key is pinned), hashed as OpenSSH does with HashKnownHosts.
    const keys = machines.hosts.slice(1).map((h) => `${h.address} ${keyLine(h.hostKey)}`);
    await writeFile(join(work, "known_hosts"), `${keys.join("\n")}\n`);
    await exec("ssh-keygen", ["-H", "-f", join(work, "known_hosts")]);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "cluster.yaml"), clusterYaml(cluster, machines.hosts, { "master-1": fingerprint(machines.hosts[0]!.hostKey) }));
    up = await run(process.execPath, [SPROUT_CLI, "up", dir, "--provider", "ssh", "--timeout", "8m", "--kubeconfig", kubeconfig]);
  }, 1_200_000);

  afterAll(async () => {
    await machines?.destroy();
    await rm(parent, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  it("installs each host over SSH and brings every node to converged", () => {
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stderr).toContain("3 of 3 host(s) set up");
    expect(up.stderr).toContain("3 of 3 nodes converged");
    // Plain Debian hosts lacked everything but Node.js (the plain image's stand-in for Ansible's
    // Python): the packages, Kubernetes, the images and the agent all went over SSH.
    for (const h of machines.hosts) expect(up.stderr).toMatch(new RegExp(`${h.name} +installed +agent, kubernetes, images, debian \\(\\d+ MB`));
  });

  it("reaches the same end state as the local provider: nodes Ready, pods on every worker, the shared volume written, the edge answering", async () => {
    const end = await reachEndState({ kubeconfig, nodes: machines.hosts, edgeAddress: machines.hosts[0]!.address, deadlineMs: 240_000 });
    expect(end.readyAt).toBeGreaterThan(0);
    const k = async (...args: string[]) => (await exec("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args])).stdout;
    expect((await k("exec", "bench-service-1", "--", "cat", "/data/service-1")).trim()).toBe("service-1");
  });

  it("runs the agent as a unit on each host, with its bootstrap file (holding the token) readable by root only", async () => {
    for (const h of machines.hosts) {
      const r = await h.machine.exec(["sh", "-c", "systemctl is-active sprout-agent containerd kubelet && stat -c %a /etc/sprout/bootstrap.yaml && cat /etc/sprout/image-version"]);
      expect(r.code, `${h.name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout.trim().split("\n").slice(3)).toEqual(["600", expect.stringMatching(/^vanilla-/)]);
    }
  });

  it("carries kubectl to the API server through an SSH tunnel to the master (the cloud's way in), its TLS name checked", async () => {
    const master = machines.hosts[0]!;
    const session = await SshSession.open({ name: master.name, host: master.address, port: 22, privateKey: machines.clientKey, hostKey: master.hostKey });
    const tunnel = await session.forwardLocal(master.address, 6443);
    try {
      // As `sprout kubeconfig` writes it for a cloud: the tunnel's end, and the name the certificate carries.
      const cfg = parseYaml(await readFile(kubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[] };
      cfg.clusters[0]!.cluster.server = `https://127.0.0.1:${tunnel.port}`;
      cfg.clusters[0]!.cluster["tls-server-name"] = master.address;
      await writeFile(join(work, "tunnel.kubeconfig"), stringify(cfg), { mode: 0o600 });
      const nodes = await exec("kubectl", ["--kubeconfig", join(work, "tunnel.kubeconfig"), "--request-timeout=20s", "get", "nodes", "-o", "name"]);
      expect(nodes.stdout.trim().split("\n").sort()).toEqual(["node/master-1", "node/service-1", "node/storage-1"]);
      cfg.clusters[0]!.cluster["tls-server-name"] = "10.0.0.1";
      await writeFile(join(work, "tunnel.kubeconfig"), stringify(cfg), { mode: 0o600 });
      await expect(exec("kubectl", ["--kubeconfig", join(work, "tunnel.kubeconfig"), "--request-timeout=20s", "get", "nodes"])).rejects.toThrow(/certificate is valid for .*not 10\.0\.0\.1/);
    } finally {
      await tunnel.close();
      session.close();
    }
  });

  it("a second sprout up sends only the agent and converges without re-joining", async () => {
    const again = await run(process.execPath, [SPROUT_CLI, "up", dir, "--provider", "ssh", "--timeout", "4m", "--kubeconfig", kubeconfig]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    for (const h of machines.hosts) expect(again.stderr).toMatch(new RegExp(`${h.name} +installed +agent \\(`));
    expect(again.stderr).toContain("3 of 3 nodes converged");
  });

  it("refuses a host whose key is not the pinned one, and touches nothing on it", async () => {
    const badDir = join(parent, "wrongpin");
    await mkdir(badDir, { recursive: true });
    const wrong = fingerprint(publicBlob(ed25519KeyPair().public));
    const master = machines.hosts[0]!;
    await writeFile(join(badDir, "cluster.yaml"), clusterYaml("wrongpin", [master], { "master-1": wrong }).replace(":7445", ":7446"));
    const before = await master.machine.exec(["stat", "-c", "%Y", "/usr/local/lib/sprout/sprout-agent.cjs"]);
    const r = await run(process.execPath, [SPROUT_CLI, "up", badDir, "--provider", "ssh", "--timeout", "1m", "--no-kubeconfig"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`master-1`);
    expect(r.stderr).toContain(`host key ${fingerprint(master.hostKey)} is not the pinned ${wrong}`);
    expect(r.stderr).toContain("no host could be set up");
    const after = await master.machine.exec(["stat", "-c", "%Y", "/usr/local/lib/sprout/sprout-agent.cjs"]);
    expect(after.stdout).toBe(before.stdout);
  });

  it("refuses a host known_hosts does not list, before asking it anything", async () => {
    const badDir = join(parent, "unknown");
    await mkdir(badDir, { recursive: true });
    await writeFile(join(work, "empty_known_hosts"), "");
    // A one-host cluster needs a master; the host is refused before its role matters.
    const yaml = clusterYaml("unknown", [{ ...machines.hosts[1]!, roles: ["master"] }], {}).replace(join(work, "known_hosts"), join(work, "empty_known_hosts")).replace(":7445", ":7447");
    await writeFile(join(badDir, "cluster.yaml"), yaml);
    const r = await run(process.execPath, [SPROUT_CLI, "up", badDir, "--provider", "ssh", "--timeout", "1m", "--no-kubeconfig"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/service-1 .*host key SHA256:\S+ is not in .*empty_known_hosts \(no entry for this host/);
    expect(await readFile(join(work, "empty_known_hosts"), "utf8")).toBe(""); // never trust-on-first-use
  });
});

/** `ssh-ed25519 AAAA…` for a public blob, as known_hosts lists it. */
function keyLine(blob: Buffer): string {
  return `ssh-ed25519 ${blob.toString("base64")}`;
}
