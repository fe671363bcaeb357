import { chmod, mkdir, readFile, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { resolve as resolvePath } from "node:path";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import type { ExecOptions, ExecResult, FileInfo, Host, UnitStatus } from "./host.js";
import { disableOffline, enableOffline, isEnabledOffline } from "./offline-units.js";
import { isMissing, resolveInRoot, splitNodePath } from "./rooted-path.js";
import { outputTail, runProcess } from "./run-process.js";

/**
 * The production `Host`. Without a root it acts on the machine it runs on. With a root it
 * configures an image rootfs *offline*: files land under the root, units are enabled by
 * symlinks, and everything that needs a running kernel or systemd (modules, sysctls, unit
 * state, commands) is skipped — the persistent files the steps write take effect at first boot.
 */
export class RealHost implements Host {
  readonly offline: boolean;
  readonly description: string;
  private readonly root: string | undefined;

  constructor(options: { root?: string } = {}) {
    this.root = options.root === undefined ? undefined : resolvePath(options.root);
    this.offline = this.root !== undefined;
    this.description = this.root === undefined ? "this machine" : `rootfs ${this.root}`;
  }

  // ---- files ------------------------------------------------------------------------------

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(await this.real(path));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new Error(`cannot read ${path} on ${this.description}`, { cause: err });
    }
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    try {
      const st = await stat(await this.real(path));
      return { mode: st.mode & 0o7777, size: st.size, isDirectory: st.isDirectory() };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new Error(`cannot stat ${path} on ${this.description}`, { cause: err });
    }
  }

  async writeFile(path: string, content: Buffer | string, mode: number): Promise<void> {
    try {
      // The final component is not followed: the rename replaces a symlink rather than writing
      // through it, so a link in the rootfs cannot redirect the write outside the root.
      await writeFileAtomic(await this.real(path, false), content, mode);
    } catch (err) {
      throw new Error(`cannot write ${path} on ${this.description}`, { cause: err });
    }
  }

  async mkdir(path: string, mode: number): Promise<void> {
    try {
      // Like `mkdir -p`; the umask may narrow `mode`, which is why directory steps chmod after.
      await mkdir(await this.real(path), { recursive: true, mode });
    } catch (err) {
      throw new Error(`cannot create directory ${path} on ${this.description}`, { cause: err });
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    try {
      await chmod(await this.real(path), mode);
    } catch (err) {
      throw new Error(`cannot chmod ${path} on ${this.description}`, { cause: err });
    }
  }

  /** Removes a file, symlink or empty directory; a missing path is already removed. Never recursive. */
  async remove(path: string): Promise<void> {
    const real = await this.real(path, false);
    try {
      await unlink(real);
    } catch (err) {
      if (isMissing(err)) return;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EISDIR" && code !== "EPERM") throw new Error(`cannot remove ${path} on ${this.description}`, { cause: err });
      await rmdir(real).catch((e: unknown) => {
        throw new Error(`cannot remove ${path} on ${this.description}`, { cause: e });
      });
    }
  }

  // ---- commands ---------------------------------------------------------------------------

  async exec(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    if (this.offline) {
      throw new Error(`cannot run commands in an offline rootfs (${this.root}): ${argv.join(" ")}`);
    }
    return runProcess(argv, options);
  }

  // ---- kernel -----------------------------------------------------------------------------

  async loadKernelModule(name: string): Promise<void> {
    if (this.offline) return; // modules-load.d, written by the step, loads it at first boot
    await this.mustSucceed(["modprobe", "--", name]);
  }

  async isKernelModuleLoaded(name: string): Promise<boolean> {
    if (this.offline) return false;
    // The kernel reports `br-netfilter` as `br_netfilter`.
    const wanted = name.replace(/-/g, "_");
    // A kernel built without module support has no /proc/modules: nothing is loaded as a module.
    const text = await readFile("/proc/modules", "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    const modules = text.split("\n").map((l) => l.split(" ")[0]);
    if (modules.includes(wanted)) return true;
    // Built-in modules are absent from /proc/modules but have a /sys/module entry.
    return (await this.stat(`/sys/module/${wanted}`))?.isDirectory ?? false;
  }

  async readSysctl(key: string): Promise<string | undefined> {
    if (this.offline) return undefined;
    try {
      return (await readFile(sysctlPath(key), "utf8")).trim();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new Error(`cannot read sysctl ${key}`, { cause: err });
    }
  }

  async writeSysctl(key: string, value: string): Promise<void> {
    if (this.offline) return; // sysctl.d, written by the step, applies it at first boot
    try {
      // /proc/sys files are not real files: no temp+rename, a single write is the interface.
      await writeFile(sysctlPath(key), value);
    } catch (err) {
      throw new Error(`cannot set sysctl ${key} = ${value}`, { cause: err });
    }
  }

  // ---- systemd ----------------------------------------------------------------------------

  async unitStatus(name: string): Promise<UnitStatus> {
    if (this.root !== undefined) return { enabled: await isEnabledOffline(this.root, name), active: false };
    const enabled = await runProcess(["systemctl", "is-enabled", "--", name]);
    const active = await runProcess(["systemctl", "is-active", "--quiet", "--", name]);
    // `static` and `indirect` units cannot be enabled or disabled; counting them as enabled keeps
    // a step with `enabled: true` from trying forever.
    const state = enabled.stdout.trim();
    return {
      enabled: ["enabled", "enabled-runtime", "static", "indirect", "alias", "generated"].includes(state),
      active: active.code === 0,
    };
  }

  async reloadUnits(): Promise<void> {
    if (this.offline) return; // systemd reads unit files afresh when the image boots
    await this.mustSucceed(["systemctl", "daemon-reload"]);
  }

  async enableUnit(name: string): Promise<void> {
    if (this.root !== undefined) return enableOffline(this.root, name);
    await this.mustSucceed(["systemctl", "enable", "--", name]);
  }

  async disableUnit(name: string): Promise<void> {
    if (this.root !== undefined) return disableOffline(this.root, name);
    await this.mustSucceed(["systemctl", "disable", "--", name]);
  }

  async startUnit(name: string): Promise<void> {
    if (!this.offline) await this.mustSucceed(["systemctl", "start", "--", name]);
  }

  async restartUnit(name: string): Promise<void> {
    if (!this.offline) await this.mustSucceed(["systemctl", "restart", "--", name]);
  }

  async stopUnit(name: string): Promise<void> {
    if (!this.offline) await this.mustSucceed(["systemctl", "stop", "--", name]);
  }

  // ---- network ----------------------------------------------------------------------------

  canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
    });
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** The real path for a node path: under the root when rooted, as-is (but absolute) when live. */
  private async real(path: string, followLast = true): Promise<string> {
    if (this.root === undefined) {
      splitNodePath(path, "/"); // same validation (absolute, no NUL) on both kinds of host
      return path;
    }
    return resolveInRoot(this.root, path, followLast);
  }

  private async mustSucceed(argv: string[]): Promise<void> {
    const result = await runProcess(argv, { timeoutMs: 5 * 60_000 });
    if (result.code !== 0) {
      throw new Error(`${argv.join(" ")} failed with exit code ${result.code}`, {
        cause: new Error(outputTail(result.stderr || result.stdout) || "no output"),
      });
    }
  }
}

/** `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`, refusing keys that are not plain names. */
export function sysctlPath(key: string): string {
  const parts = key.split(".");
  if (parts.some((p) => p === "" || !/^[A-Za-z0-9_-]+$/.test(p))) {
    throw new Error(`invalid sysctl key ${JSON.stringify(key)}`);
  }
  return `/proc/sys/${parts.join("/")}`;
}
