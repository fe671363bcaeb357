import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeNetwork, destroyNodeNetwork, type NodeNetwork } from "../coordinator/providers/local/node-network.js";
import { cleanupCluster, startMachine, type NodeMachine } from "../coordinator/providers/local/node-machine.js";
import { DEFAULT_KUBERNETES_VERSION, SPROUT_VERSION, minorSupport } from "../shared/versions.js";
import { testNodeCidr, testNodeImage, waitFor } from "./support/harness.js";

/**
 * What the node image carries besides its packages, checked inside a real node machine: the
 * offline OCI images (image-build/oci-images.sh) import into containerd and run as containers
 * under the image's runc, and the agent is installed with an enabled unit that stays out of the
 * way until a bootstrap file exists.
 */
const IMAGES = "/usr/local/share/sprout/images";
const PAUSE = minorSupport(DEFAULT_KUBERNETES_VERSION)!.pauseImage; // what containerd's sandbox_image names
const TOOLBOX = "sprout.dev/toolbox:1";

const buildRootfs = async (): Promise<string> => (await testNodeImage()).root;

describe("node image: offline OCI images and the agent", () => {
  const cluster = `it${randomBytes(3).toString("hex")}`;
  let imageRoot = "";
  let stateRoot = "";
  let network: NodeNetwork | undefined;
  let machine: NodeMachine | undefined;
  const timings: Record<string, number> = {};

  /** Runs argv in the machine and fails with its output unless it exits 0. */
  async function ok(argv: string[], timeoutMs = 60_000): Promise<string> {
    const r = await machine!.exec(argv, { timeoutMs });
    expect(r.code, `${argv.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`).toBe(0);
    return r.stdout;
  }
  const ctr = (...args: string[]) => ["ctr", "-n", "k8s.io", ...args];

  beforeAll(async () => {
    let t = Date.now();
    imageRoot = await buildRootfs();
    timings.image = Date.now() - t;
    stateRoot = await mkdtemp(join(tmpdir(), `sprout-${cluster}-`));
    network = await createNodeNetwork(cluster, testNodeCidr(cluster, "10.252"), ["node-a"]);
    const n = network.nodes[0]!;
    t = Date.now();
    machine = await startMachine({ cluster, node: n.name, imageRoot, stateDir: join(stateRoot, n.name), netns: n.netns, address: n.address });
    const state = await machine.waitForBoot(120_000);
    timings.boot = Date.now() - t;
    if (state !== "running") {
      const failed = await machine.exec(["systemctl", "--failed", "--no-legend", "--no-pager"]);
      throw new Error(`node machine is ${state}; failed units:\n${failed.stdout}`);
    }
  }, 1_200_000);

  afterAll(async () => {
    await cleanupCluster(cluster).catch((err) => console.error("cleanupCluster:", err));
    await network?.destroy().catch((err) => console.error("network.destroy:", err));
    await destroyNodeNetwork(cluster).catch(() => undefined);
    if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
    console.log(`node images: ${Object.entries(timings).map(([k, v]) => `${k} ${v} ms`).join(", ")}`);
  });

  it("carries both archives, and the agent with its unit: enabled, skipped without a bootstrap file", async () => {
    for (const f of ["pause.tar", "toolbox.tar"]) expect((await stat(join(imageRoot, IMAGES, f))).size).toBeGreaterThan(100_000);
    expect((await ok(["systemctl", "is-enabled", "sprout-agent.service"])).trim()).toBe("enabled");
    // No /etc/sprout/bootstrap.yaml: the unit's condition fails, which is not a failure of the unit.
    expect((await machine!.exec(["test", "-e", "/etc/sprout/bootstrap.yaml"])).code).not.toBe(0);
    const show = await ok(["systemctl", "show", "-p", "LoadState,ActiveState,Result,ConditionResult", "sprout-agent.service"]);
    const props = Object.fromEntries(show.trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
    expect(props).toEqual({ LoadState: "loaded", ActiveState: "inactive", Result: "success", ConditionResult: "no" });
    expect((await machine!.exec(["systemctl", "is-failed", "sprout-agent.service"])).stdout.trim()).not.toBe("failed");
    // Wants=network-online.target: reached at once in a node machine (no network manager to wait for).
    expect((await ok(["systemctl", "is-active", "network-online.target"])).trim()).toBe("active");
    // The wrapper runs the bundle on the image's Node.js.
    const t = Date.now();
    expect((await ok(["sprout-agent", "version"])).trim()).toBe(SPROUT_VERSION);
    timings.agentVersion = Date.now() - t;
    expect(await readFile(join(imageRoot, "usr/local/bin/sprout-agent"), "utf8")).toContain("exec /usr/local/bin/node /usr/local/lib/sprout/sprout-agent.cjs");
  });

  it("stops retrying the agent on bad input: a corrupt bootstrap file fails the unit with the agent's reason", async () => {
    await ok(["sh", "-c", "mkdir -p /etc/sprout && printf 'coordinators: [\\n' >/etc/sprout/bootstrap.yaml"]);
    try {
      await ok(["systemctl", "start", "sprout-agent.service"]);
      let show = "";
      await waitFor(
        async () => {
          show = (await machine!.exec(["systemctl", "show", "-p", "ActiveState,Result,NRestarts", "sprout-agent.service"])).stdout;
          return /^ActiveState=failed$/m.test(show);
        },
        20_000,
        "sprout-agent.service to fail",
      );
      // Exit status 2 (bad input) is not restarted (RestartPreventExitStatus=2).
      expect(show).toMatch(/^Result=exit-code$/m);
      expect(show).toMatch(/^NRestarts=0$/m);
      const journal = await ok(["journalctl", "-u", "sprout-agent.service", "-o", "cat", "--no-pager"]);
      expect(journal).toContain("bootstrap file /etc/sprout/bootstrap.yaml is invalid");
    } finally {
      await machine!.exec(["rm", "-f", "/etc/sprout/bootstrap.yaml"]);
      await machine!.exec(["systemctl", "reset-failed", "sprout-agent.service"]);
    }
  });

  it("imports both archives into containerd's k8s.io namespace under their names", async () => {
    const t = Date.now();
    for (const f of ["pause.tar", "toolbox.tar"]) await ok(ctr("images", "import", `${IMAGES}/${f}`));
    timings.import = Date.now() - t;
    const names = (await ok(ctr("images", "ls", "-q"))).split("\n");
    expect(names).toContain(PAUSE);
    expect(names).toContain(TOOLBOX);
    // Unpacked into the default (overlayfs) snapshotter, as the CRI needs.
    const ls = await ok(ctr("images", "check"));
    for (const name of [PAUSE, TOOLBOX]) expect(ls).toMatch(new RegExp(`^${name.replace(/[.:/]/g, "\\$&")}\\s.*complete`, "m"));
  });

  it("runs the toolbox image as a container, with the host's network and with its own", async () => {
    let t = Date.now();
    const out = await ok(ctr("run", "--rm", "--net-host", TOOLBOX, "t1", "sh", "-c", "echo ok; hostname; cat /www/index.html"));
    timings.runToolbox = Date.now() - t;
    expect(out.trim().split("\n")).toEqual(["ok", machine!.node, "sprout toolbox"]);
    // Without --net-host the container gets a network namespace of its own, holding only lo.
    const own = await ok(ctr("run", "--rm", TOOLBOX, "t2", "sh", "-c", "ls /sys/class/net"));
    expect(own.trim()).toBe("lo");
    // The image's default command serves /www over HTTP on port 80; another container fetches it.
    // (`timeout 5 wget`, not `wget -T 5`: Debian bookworm's busybox is built without wget's -T and
    // crashes with SIGSEGV when it is given.)
    t = Date.now();
    await ok(ctr("run", "-d", "--net-host", TOOLBOX, "web"));
    try {
      let page = "";
      await waitFor(
        async () => {
          const r = await machine!.exec(ctr("run", "--rm", "--net-host", TOOLBOX, `wget-${Date.now()}`, "timeout", "5", "wget", "-q", "-O", "-", "http://127.0.0.1/", "http://127.0.0.1/cgi-bin/hostname"));
          page = r.stdout;
          return r.code === 0;
        },
        20_000,
        "the toolbox's httpd to answer",
      );
      expect(page.trim().split("\n")).toEqual(["sprout toolbox", machine!.node]);
      timings.http = Date.now() - t;
    } finally {
      await machine!.exec(ctr("task", "rm", "--force", "web"));
      await machine!.exec(ctr("containers", "rm", "web"));
    }
  });

  it("runs the pause image until SIGTERM, then exits 0", async () => {
    const t = Date.now();
    const child = machine!.spawn(ctr("run", "--rm", PAUSE, "p1"));
    let output = "";
    child.stdout!.on("data", (d) => (output += String(d)));
    child.stderr!.on("data", (d) => (output += String(d)));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitFor(async () => /^p1\s+\d+\s+RUNNING$/m.test((await machine!.exec(ctr("task", "ls"))).stdout), 20_000, "the pause task to run");
      // It blocks: still running a moment later.
      await new Promise((r) => setTimeout(r, 300));
      expect((await ok(ctr("task", "ls"))).match(/^p1\s+\d+\s+(\w+)$/m)?.[1]).toBe("RUNNING");
      await ok(ctr("task", "kill", "-s", "SIGTERM", "p1"));
      expect(await exited, output).toBe(0);
      timings.pause = Date.now() - t;
      expect(output).toContain("pause: shutting down");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect((await ok(ctr("containers", "ls", "-q"))).split("\n")).not.toContain("p1");
  });
});
