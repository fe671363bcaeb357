import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DryRunHost } from "./dry-run-host.js";
import { RealHost } from "./real-host.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sprout-dryrun-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("DryRunHost", () => {
  it("passes reads through to the wrapped host", async () => {
    await mkdir(join(root, "etc"));
    await writeFile(join(root, "etc/hostname"), "node-1\n");
    const host = new DryRunHost(new RealHost({ root }));
    expect(host.offline).toBe(true);
    expect(host.description).toBe(`plan for rootfs ${root}`);
    expect((await host.readFile("/etc/hostname"))?.toString()).toBe("node-1\n");
    expect(await host.stat("/etc/hostname")).toMatchObject({ isDirectory: false, size: 7 });
    expect(await host.unitStatus("x.service")).toEqual({ enabled: false, active: false });
    expect(host.changes).toEqual([]);
  });

  it("records every mutation instead of performing it", async () => {
    await mkdir(join(root, "etc"));
    await writeFile(join(root, "etc/hostname"), "node-1\n");
    const host = new DryRunHost(new RealHost({ root }));
    const scoped = host.forStep("kubelet/config");
    await scoped.writeFile("/etc/hostname", "node-2\n", 0o644);
    await scoped.writeFile("/etc/kubernetes/kubelet.conf", Buffer.from("abc"), 0o600);
    await host.mkdir("/var/lib/kubelet", 0o700);
    await host.chmod("/var/lib/kubelet", 0o700);
    await host.remove("/etc/hostname");
    expect(await host.exec(["kubeadm", "init"], { env: { A: "1" } })).toEqual({ code: 1, stdout: "", stderr: "not run in plan mode" });
    await host.loadKernelModule("overlay");
    await host.writeSysctl("net.ipv4.ip_forward", "1");
    await host.reloadUnits();
    for (const verb of ["enableUnit", "disableUnit", "startUnit", "restartUnit", "stopUnit"] as const) await host[verb]("kubelet.service");

    expect(host.changes).toEqual([
      { action: "write", target: "/etc/hostname", detail: "replace, 7 bytes, mode 0644", stepId: "kubelet/config" },
      { action: "write", target: "/etc/kubernetes/kubelet.conf", detail: "create, 3 bytes, mode 0600", stepId: "kubelet/config" },
      { action: "mkdir", target: "/var/lib/kubelet", detail: "mode 0700" },
      { action: "chmod", target: "/var/lib/kubelet", detail: "mode 0700" },
      { action: "remove", target: "/etc/hostname" },
      { action: "run", target: "kubeadm init", detail: "env A=1" },
      { action: "load module", target: "overlay" },
      { action: "set sysctl", target: "net.ipv4.ip_forward", detail: "1" },
      { action: "reload units", target: "systemd" },
      { action: "enable", target: "kubelet.service" },
      { action: "disable", target: "kubelet.service" },
      { action: "start", target: "kubelet.service" },
      { action: "restart", target: "kubelet.service" },
      { action: "stop", target: "kubelet.service" },
    ]);
    // Nothing happened on disk.
    expect(await readdir(root, { recursive: true })).toEqual(["etc", "etc/hostname"]);
  });
});
