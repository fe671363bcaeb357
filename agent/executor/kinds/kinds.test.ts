import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TryAgainLater } from "../../../shared/errors.js";
import { RealHost } from "../../host/real-host.js";
import { steps } from "../test-helpers.js";
import { applyStep, checkStep } from "./index.js";
import type { StepContext } from "./index.js";

let root: string;
let host: RealHost;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sprout-kinds-"));
  host = new RealHost({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function ctx(over: Partial<StepContext> = {}): StepContext {
  return { outcomeOf: () => undefined, applied: false, planning: false, ...over };
}

describe("step kinds on an offline rootfs", () => {
  it("file: content and mode both count", async () => {
    const [step] = steps({ kind: "file", id: "f", description: "f", path: "/etc/f.conf", content: "a=1\n", mode: 0o640 });
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    expect(await checkStep(step!, host, ctx())).toBe(true);
    await writeFile(join(root, "etc/f.conf"), "a=2\n");
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    await chmod(join(root, "etc/f.conf"), 0o644);
    expect(await checkStep(step!, host, ctx())).toBe(false);
  });

  it("file: base64 content is written as bytes", async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const [step] = steps({ kind: "file", id: "b", description: "b", path: "/bin.dat", content: bytes.toString("base64"), encoding: "base64" });
    await applyStep(step!, host, ctx());
    expect(await readFile(join(root, "bin.dat"))).toEqual(bytes);
    expect(await checkStep(step!, host, ctx())).toBe(true);
  });

  it("directory: exists as a directory with the mode", async () => {
    const [step] = steps({ kind: "directory", id: "d", description: "d", path: "/var/lib/etcd", mode: 0o700 });
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    expect((await stat(join(root, "var/lib/etcd"))).mode & 0o7777).toBe(0o700);
    expect(await checkStep(step!, host, ctx())).toBe(true);
  });

  it("kernelModule: only the modules-load.d file offline", async () => {
    const [step] = steps({ kind: "kernelModule", id: "m", description: "m", name: "br_netfilter" });
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    expect(await readFile(join(root, "etc/modules-load.d/sprout-br_netfilter.conf"), "utf8")).toBe("br_netfilter\n");
    expect(await checkStep(step!, host, ctx())).toBe(true);
  });

  it("sysctl: only the sysctl.d file offline", async () => {
    const [step] = steps({ kind: "sysctl", id: "s", description: "s", key: "net.ipv4.ip_forward", value: "1" });
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    expect(await readFile(join(root, "etc/sysctl.d/90-sprout-net.ipv4.ip_forward.conf"), "utf8")).toBe("net.ipv4.ip_forward = 1\n");
    expect(await checkStep(step!, host, ctx())).toBe(true);
  });

  it("systemdUnit: writes the unit file and enables it through WantedBy links", async () => {
    const content = "[Service]\nExecStart=/usr/bin/kubelet\n[Install]\nWantedBy=multi-user.target\n";
    const [step] = steps({ kind: "systemdUnit", id: "u", description: "u", name: "kubelet.service", content });
    expect(await checkStep(step!, host, ctx())).toBe(false);
    await applyStep(step!, host, ctx());
    expect(await readFile(join(root, "etc/systemd/system/kubelet.service"), "utf8")).toBe(content);
    expect(await readlink(join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service"))).toBe("/etc/systemd/system/kubelet.service");
    expect(await checkStep(step!, host, ctx())).toBe(true);

    const [disabled] = steps({ kind: "systemdUnit", id: "u", description: "u", name: "kubelet.service", enabled: false, state: "stopped" });
    expect(await checkStep(disabled!, host, ctx())).toBe(false);
    await applyStep(disabled!, host, ctx());
    expect(await checkStep(disabled!, host, ctx())).toBe(true);
  });

  it("systemdUnit: offline, a changed trigger asks for no restart", async () => {
    const [step] = steps({
      kind: "systemdUnit", id: "u", description: "u", name: "x.service",
      content: "[Service]\nExecStart=/bin/true\n", restartOnChangeOf: ["cfg"],
    });
    await applyStep(step!, host, ctx());
    expect(await checkStep(step!, host, ctx({ outcomeOf: () => "changed" }))).toBe(true);
  });

  it("command: offline it is done only when `creates` already exists", async () => {
    const [step] = steps({ kind: "command", id: "c", description: "c", argv: ["kubeadm", "init"], creates: "/etc/kubernetes/admin.conf" });
    await expect(checkStep(step!, host, ctx())).rejects.toThrow(
      /cannot run `kubeadm init` in an offline rootfs .* and \/etc\/kubernetes\/admin.conf does not exist there yet/,
    );
    await mkdir(join(root, "etc/kubernetes"), { recursive: true });
    await writeFile(join(root, "etc/kubernetes/admin.conf"), "");
    expect(await checkStep(step!, host, ctx())).toBe(true);
  });

  it("waitFor: file and barrier conditions say what they wait for", async () => {
    const [file, barrier] = steps(
      { kind: "waitFor", id: "w", description: "w", condition: { type: "file", path: "/run/ready" } },
      { kind: "waitFor", id: "b", description: "b", condition: { type: "barrier", name: "apiserver-ready" } },
    );
    await expect(checkStep(file!, host, ctx())).rejects.toThrow(new TryAgainLater("file /run/ready to exist"));
    await mkdir(join(root, "run"));
    await writeFile(join(root, "run/ready"), "");
    expect(await checkStep(file!, host, ctx())).toBe(true);

    await expect(checkStep(barrier!, host, ctx())).rejects.toThrow(/waits for barrier "apiserver-ready" but this run has no barrier source/);
    await expect(checkStep(barrier!, host, ctx({ barriers: async () => false }))).rejects.toBeInstanceOf(TryAgainLater);
    expect(await checkStep(barrier!, host, ctx({ barriers: async (n) => n === "apiserver-ready" }))).toBe(true);
  });
});

describe("step kinds on this machine (harmless live actions only)", () => {
  const live = new RealHost();

  it("command: creates, unless, env, and the stderr tail of a failure", async () => {
    const marker = join(root, "made");
    const [make, guarded, failing] = steps(
      { kind: "command", id: "a", description: "a", argv: ["sh", "-c", 'printf "$V" > "$M"'], env: { V: "x", M: marker }, creates: marker },
      { kind: "command", id: "b", description: "b", argv: ["false"], unless: ["test", "-e", marker] },
      { kind: "command", id: "c", description: "c", argv: ["sh", "-c", "echo boom >&2; exit 4"], unless: ["false"] },
    );
    expect(await checkStep(make!, live, ctx())).toBe(false);
    expect(await checkStep(guarded!, live, ctx())).toBe(false);
    await applyStep(make!, live, ctx());
    expect(await readFile(marker, "utf8")).toBe("x");
    expect(await checkStep(make!, live, ctx())).toBe(true);
    expect(await checkStep(guarded!, live, ctx())).toBe(true);
    await expect(applyStep(failing!, live, ctx())).rejects.toThrow(/sh -c echo boom >&2; exit 4 exited with code 4: boom/);
  });

});

describe("kernel modules built into the kernel", () => {
  it("needs no loading when the module's function is present under another name", async () => {
    const root = await mkdtemp(join(tmpdir(), "sprout-kmod-"));
    try {
      // A live host whose files live in a temp dir, while /proc and /sys are the real ones, and
      // whose kernel has no module files to load.
      const live = new RealHost();
      const host = Object.assign(Object.create(live) as RealHost, {
        readFile: (p: string) => live.readFile(join(root, p)),
        writeFile: (p: string, c: Buffer | string, m: number) => live.writeFile(join(root, p), c, m),
        stat: (p: string) => (p.startsWith("/proc/") || p.startsWith("/sys/") ? live.stat(p) : live.stat(join(root, p))),
        isKernelModuleLoaded: async () => false,
        loadKernelModule: async (name: string) => {
          throw new Error(`modprobe ${name}: no modules on this kernel`);
        },
      });
      const ctx: StepContext = { outcomeOf: () => undefined, applied: false, planning: false };
      const [step] = steps({ id: "k", description: "d", kind: "kernelModule", name: "br_netfilter", presentIf: "/proc/sys/net/ipv4/ip_forward" });
      await applyStep(step!, host, ctx);
      expect(await checkStep(step!, host, { ...ctx, applied: true })).toBe(true);
      const [missing] = steps({ id: "k", description: "d", kind: "kernelModule", name: "br_netfilter", presentIf: "/proc/sys/no/such/key" });
      await expect(applyStep(missing!, host, ctx)).rejects.toThrow(/no modules on this kernel/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("route steps", () => {
  it("are runtime state: nothing to do on an offline rootfs", async () => {
    const root = await mkdtemp(join(tmpdir(), "sprout-route-"));
    try {
      const [step] = steps({ id: "r", description: "d", kind: "route", destination: "10.244.2.0/24", via: "10.240.0.12" });
      expect(await checkStep(step!, new RealHost({ root }), { outcomeOf: () => undefined, applied: false, planning: false })).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
