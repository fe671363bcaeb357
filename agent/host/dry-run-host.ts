import type { ExecOptions, ExecResult, FileInfo, Host, UnitStatus } from "./host.js";

/**
 * A `Host` for `sprout-agent plan`: reads go to the wrapped host (so checks see the real
 * machine), mutations are only recorded. Nothing is written, started or run.
 *
 * Commands are mutations too — a step's `unless` probe is not guaranteed to be side-effect free —
 * so `exec` is recorded and answers exit code 1 ("not done"), which makes a command step show up
 * as a change rather than being silently assumed done.
 */

export interface PlannedChange {
  /** Verb: `write`, `mkdir`, `chmod`, `remove`, `run`, `load module`, `set sysctl`, `enable`, … */
  action: string;
  /** What it acts on: a path, unit name, module name, sysctl key or command line. */
  target: string;
  detail?: string;
  /** The step that would make the change, when known (the executor scopes hosts per step). */
  stepId?: string;
}

export class DryRunHost implements Host {
  readonly offline: boolean;
  readonly description: string;

  /**
   * @param inner  where reads go.
   * @param changes the list to record into; `forStep` views share one list.
   */
  constructor(
    private readonly inner: Host,
    readonly changes: PlannedChange[] = [],
    private readonly stepId?: string,
  ) {
    this.offline = inner.offline;
    this.description = `plan for ${inner.description}`;
  }

  /** A view that tags what it records with `stepId`, recording into the same `changes`. */
  forStep(stepId: string): DryRunHost {
    return new DryRunHost(this.inner, this.changes, stepId);
  }

  // ---- reads pass through -----------------------------------------------------------------

  readFile(path: string): Promise<Buffer | undefined> {
    return this.inner.readFile(path);
  }
  stat(path: string): Promise<FileInfo | undefined> {
    return this.inner.stat(path);
  }
  isKernelModuleLoaded(name: string): Promise<boolean> {
    return this.inner.isKernelModuleLoaded(name);
  }
  readSysctl(key: string): Promise<string | undefined> {
    return this.inner.readSysctl(key);
  }
  unitStatus(name: string): Promise<UnitStatus> {
    return this.inner.unitStatus(name);
  }
  canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
    return this.inner.canConnect(host, port, timeoutMs);
  }

  // ---- mutations are recorded -------------------------------------------------------------

  async writeFile(path: string, content: Buffer | string, mode: number): Promise<void> {
    const size = typeof content === "string" ? Buffer.byteLength(content) : content.length;
    // Telling "create" from "replace" makes the plan far easier to review.
    const existing = await this.inner.stat(path);
    const what = existing ? "replace" : "create";
    this.record("write", path, `${what}, ${size} bytes, mode ${octal(mode)}`);
  }
  async mkdir(path: string, mode: number): Promise<void> {
    this.record("mkdir", path, `mode ${octal(mode)}`);
  }
  async chmod(path: string, mode: number): Promise<void> {
    this.record("chmod", path, `mode ${octal(mode)}`);
  }
  async remove(path: string): Promise<void> {
    this.record("remove", path);
  }
  async exec(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    const env = Object.entries(options?.env ?? {}).map(([k, v]) => `${k}=${v}`);
    this.record("run", argv.join(" "), env.length > 0 ? `env ${env.join(" ")}` : undefined);
    return { code: 1, stdout: "", stderr: "not run in plan mode" };
  }
  async loadKernelModule(name: string): Promise<void> {
    this.record("load module", name);
  }
  async writeSysctl(key: string, value: string): Promise<void> {
    this.record("set sysctl", key, value);
  }
  async reloadUnits(): Promise<void> {
    this.record("reload units", "systemd");
  }
  async enableUnit(name: string): Promise<void> {
    this.record("enable", name);
  }
  async disableUnit(name: string): Promise<void> {
    this.record("disable", name);
  }
  async startUnit(name: string): Promise<void> {
    this.record("start", name);
  }
  async restartUnit(name: string): Promise<void> {
    this.record("restart", name);
  }
  async stopUnit(name: string): Promise<void> {
    this.record("stop", name);
  }

  private record(action: string, target: string, detail?: string): void {
    const change: PlannedChange = { action, target };
    if (detail !== undefined) change.detail = detail;
    if (this.stepId !== undefined) change.stepId = this.stepId;
    this.changes.push(change);
  }
}

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}
