import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealHost, sysctlPath } from "./real-host.js";
import { parseInstallSection } from "./offline-units.js";
import { describeError } from "../../shared/errors.js";

/** The whole cause chain of a rejection, as the agent would log it. */
const reason = (p: Promise<unknown>) => p.then(() => "resolved", describeError);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sprout-realhost-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("RealHost rooted at a rootfs (offline)", () => {
  it("describes itself and is offline", () => {
    const host = new RealHost({ root });
    expect(host.offline).toBe(true);
    expect(host.description).toBe(`rootfs ${root}`);
    expect(new RealHost().description).toBe("this machine");
    expect(new RealHost().offline).toBe(false);
  });

  it("writes atomically under the root with the exact mode, creating parents 0755", async () => {
    const host = new RealHost({ root });
    await host.writeFile("/etc/kubernetes/pki/secret.key", "s3cret\n", 0o600);
    const real = join(root, "etc/kubernetes/pki/secret.key");
    expect(await readFile(real, "utf8")).toBe("s3cret\n");
    expect((await stat(real)).mode & 0o7777).toBe(0o600);
    expect((await stat(join(root, "etc/kubernetes"))).mode & 0o7777).toBe(0o755);
    // No temp file is left next to the target.
    expect(await readdir(join(root, "etc/kubernetes/pki"))).toEqual(["secret.key"]);
    expect(await host.stat("/etc/kubernetes/pki/secret.key")).toEqual({ mode: 0o600, size: 7, isDirectory: false });
    expect((await host.readFile("/etc/kubernetes/pki/secret.key"))?.toString()).toBe("s3cret\n");
  });

  it("replaces an existing file and narrows or widens its mode (umask does not apply)", async () => {
    const host = new RealHost({ root });
    await host.writeFile("/etc/a.conf", "one", 0o644);
    await host.writeFile("/etc/a.conf", "two", 0o666);
    expect(await readFile(join(root, "etc/a.conf"), "utf8")).toBe("two");
    expect((await stat(join(root, "etc/a.conf"))).mode & 0o7777).toBe(0o666);
  });

  it("answers undefined for missing files, also below a regular file", async () => {
    const host = new RealHost({ root });
    expect(await host.readFile("/nope")).toBeUndefined();
    expect(await host.stat("/nope/deeper")).toBeUndefined();
    await host.writeFile("/file", "x", 0o644);
    expect(await host.stat("/file/below")).toBeUndefined();
  });

  it("rejects paths that climb out of the root, and relative paths", async () => {
    const host = new RealHost({ root });
    expect(await reason(host.readFile("/../etc/passwd"))).toMatch(/cannot read \/\.\.\/etc\/passwd .*escapes the root/);
    expect(await reason(host.writeFile("/etc/../../x", "x", 0o644))).toMatch(/escapes the root/);
    expect(await reason(host.stat("etc/passwd"))).toMatch(/must be absolute/);
    // `..` that stays inside is fine.
    await host.writeFile("/etc/../ok", "x", 0o644);
    expect(await readFile(join(root, "ok"), "utf8")).toBe("x");
  });

  it("follows absolute symlinks inside the rootfs within the root, never onto this machine", async () => {
    const host = new RealHost({ root });
    await mkdir(join(root, "etc"), { recursive: true });
    await writeFile(join(root, "etc/os-release"), "ID=sprout-image\n");
    // An image's absolute link pointing at a path that also exists on the build machine.
    await symlink("/etc/os-release", join(root, "etc/link"));
    await symlink("../../../../../../etc", join(root, "up")); // climbs past / : clamps at the root
    expect((await host.readFile("/etc/link"))?.toString()).toBe("ID=sprout-image\n");
    expect((await host.readFile("/up/os-release"))?.toString()).toBe("ID=sprout-image\n");

    // Writing to a symlinked path replaces the link inside the root instead of writing through it.
    await host.writeFile("/etc/link", "replaced\n", 0o644);
    expect((await lstat(join(root, "etc/link"))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(root, "etc/os-release"), "utf8")).toBe("ID=sprout-image\n");

    await symlink("loop", join(root, "loop"));
    expect(await reason(host.readFile("/loop"))).toMatch(/too many levels of symbolic links/);
  });

  it("mkdir, chmod and remove act under the root", async () => {
    const host = new RealHost({ root });
    await host.mkdir("/var/lib/sprout", 0o700);
    await host.chmod("/var/lib/sprout", 0o750);
    expect(await host.stat("/var/lib/sprout")).toMatchObject({ isDirectory: true, mode: 0o750 });
    await host.writeFile("/var/lib/sprout/f", "x", 0o644);
    await host.remove("/var/lib/sprout/f");
    await host.remove("/var/lib/sprout/f"); // already gone: fine
    await host.remove("/var/lib/sprout");
    expect(await host.stat("/var/lib/sprout")).toBeUndefined();
  });

  it("refuses to run commands and skips live kernel and unit actions", async () => {
    const host = new RealHost({ root });
    await expect(host.exec(["true"])).rejects.toThrow(/cannot run commands in an offline rootfs/);
    await host.loadKernelModule("br_netfilter");
    expect(await host.isKernelModuleLoaded("br_netfilter")).toBe(false);
    await host.writeSysctl("net.ipv4.ip_forward", "1");
    expect(await host.readSysctl("net.ipv4.ip_forward")).toBeUndefined();
    await host.reloadUnits();
    await host.startUnit("x.service");
    await host.restartUnit("x.service");
    await host.stopUnit("x.service");
  });

  it("enables a unit by linking it into the target named by WantedBy, and disables it", async () => {
    const host = new RealHost({ root });
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(
      join(root, "lib/systemd/system/containerd.service"),
      "[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n[Install]\nWantedBy=multi-user.target sockets.target\n",
    );
    expect(await host.unitStatus("containerd.service")).toEqual({ enabled: false, active: false });

    await host.enableUnit("containerd.service");
    for (const target of ["multi-user.target", "sockets.target"]) {
      const link = join(root, `etc/systemd/system/${target}.wants/containerd.service`);
      expect(await readlink(link)).toBe("/lib/systemd/system/containerd.service");
    }
    expect(await host.unitStatus("containerd.service")).toEqual({ enabled: true, active: false });
    await host.enableUnit("containerd.service"); // idempotent

    await host.disableUnit("containerd.service");
    expect(await readdir(join(root, "etc/systemd/system/multi-user.target.wants"))).toEqual([]);
    expect(await host.unitStatus("containerd.service")).toEqual({ enabled: false, active: false });
  });

  it("defaults to multi-user.target, prefers /etc over /lib and links template instances", async () => {
    const host = new RealHost({ root });
    await mkdir(join(root, "etc/systemd/system"), { recursive: true });
    await mkdir(join(root, "lib/systemd/system"), { recursive: true });
    await writeFile(join(root, "etc/systemd/system/kubelet.service"), "[Service]\nExecStart=/usr/bin/kubelet\n");
    await writeFile(join(root, "lib/systemd/system/kubelet.service"), "[Install]\nWantedBy=graphical.target\n");
    await writeFile(join(root, "lib/systemd/system/getty@.service"), "[Install]\nWantedBy=getty.target\n");

    await host.enableUnit("kubelet.service");
    expect(await readlink(join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service"))).toBe(
      "/etc/systemd/system/kubelet.service",
    );
    await host.enableUnit("getty@tty1.service");
    expect(await readlink(join(root, "etc/systemd/system/getty.target.wants/getty@tty1.service"))).toBe(
      "/lib/systemd/system/getty@.service",
    );
    await expect(host.enableUnit("missing.service")).rejects.toThrow(/unit missing.service not found/);
  });

  it("parses [Install] lists the way systemd does", () => {
    expect(parseInstallSection("[Install]\nWantedBy=a.target\nWantedBy=b.target c.target\nRequiredBy=d.target\n")).toEqual({
      wantedBy: ["a.target", "b.target", "c.target"],
      requiredBy: ["d.target"],
    });
    expect(parseInstallSection("[Install]\nWantedBy=a.target\nWantedBy=\n[Service]\nWantedBy=x.target\n").wantedBy).toEqual([]);
  });
});

describe("RealHost on this machine (harmless live actions only)", () => {
  const host = new RealHost();

  it("runs commands and reports exit codes, output, env and stdin", async () => {
    expect((await host.exec(["true"])).code).toBe(0);
    expect((await host.exec(["false"])).code).toBe(1);
    const r = await host.exec(["sh", "-c", 'echo "out $GREETING"; echo err >&2; exit 3'], { env: { GREETING: "hi" } });
    expect(r).toEqual({ code: 3, stdout: "out hi\n", stderr: "err\n" });
    expect((await host.exec(["cat"], { input: "from stdin" })).stdout).toBe("from stdin");
  });

  it("keeps only the tail of large output", async () => {
    const r = await host.exec(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; printf END"]);
    expect(r.stdout.length).toBe(64 * 1024);
    expect(r.stdout.endsWith("aaaEND")).toBe(true);
  });

  it("kills a command at its timeout and says so", async () => {
    const started = Date.now();
    await expect(host.exec(["sleep", "5"], { timeoutMs: 200 })).rejects.toThrow(/sleep 5 timed out after 0.2s/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("reports a program that does not exist as an error naming it", async () => {
    await expect(host.exec(["/nonexistent/sprout-prog"])).rejects.toThrow(/cannot run \/nonexistent\/sprout-prog/);
  });

  it("connects to a listening TCP port and not to a closed one", async () => {
    const server: Server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await host.canConnect("127.0.0.1", port, 1000)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await host.canConnect("127.0.0.1", port, 1000)).toBe(false);
  });

  it("reads sysctls from /proc/sys", async () => {
    expect(await host.readSysctl("kernel.ostype")).toBe("Linux");
    expect(await host.readSysctl("kernel.sprout_does_not_exist")).toBeUndefined();
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(() => sysctlPath("net..x")).toThrow(/invalid sysctl key/);
  });

  it("reads and writes real absolute paths (in a temp dir)", async () => {
    const path = join(root, "live.txt");
    await host.writeFile(path, "live", 0o600);
    expect((await stat(path)).mode & 0o7777).toBe(0o600);
    expect((await host.readFile(path))?.toString()).toBe("live");
  });
});
