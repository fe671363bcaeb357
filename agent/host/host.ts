/**
 * The one boundary between the agent and the machine. Every step touches the node only through
 * this interface. `RealHost` is the production implementation (optionally rooted at a directory,
 * so an image rootfs can be configured offline); `DryRunHost` answers reads from the real machine
 * and records writes instead of performing them (`sprout-agent plan`).
 *
 * All paths are absolute paths *as seen on the node*; a rooted host maps them under its root.
 */
export interface FileInfo {
  mode: number; // permission bits only (0o7777 mask)
  size: number;
  isDirectory: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
}

export interface UnitStatus {
  /** The unit file is linked into a `*.wants` directory (systemctl is-enabled). */
  enabled: boolean;
  /** Only meaningful on a live host; an offline (rooted) host reports `false`. */
  active: boolean;
}

export interface Host {
  /** `true` when the host is an image rootfs rather than a running machine: live actions are skipped. */
  readonly offline: boolean;
  /** Human description for logs and plans, e.g. `node` or `rootfs /tmp/x`. */
  readonly description: string;

  readFile(path: string): Promise<Buffer | undefined>;
  stat(path: string): Promise<FileInfo | undefined>;
  /** Atomic: temp file in the same directory, fsync, chmod, rename, fsync dir. Creates parents. */
  writeFile(path: string, content: Buffer | string, mode: number): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  remove(path: string): Promise<void>;

  /** Runs a program on the node (inside the root via chroot when rooted and not offline-only). */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;

  loadKernelModule(name: string): Promise<void>;
  isKernelModuleLoaded(name: string): Promise<boolean>;
  readSysctl(key: string): Promise<string | undefined>;
  writeSysctl(key: string, value: string): Promise<void>;

  unitStatus(name: string): Promise<UnitStatus>;
  /** systemctl daemon-reload (no-op offline). */
  reloadUnits(): Promise<void>;
  enableUnit(name: string): Promise<void>;
  disableUnit(name: string): Promise<void>;
  startUnit(name: string): Promise<void>;
  restartUnit(name: string): Promise<void>;
  stopUnit(name: string): Promise<void>;

  /** TCP connect check used by `waitFor` steps. */
  canConnect(host: string, port: number, timeoutMs: number): Promise<boolean>;
}
