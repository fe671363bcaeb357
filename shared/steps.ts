import { z } from "zod";
import { CertProfileName } from "./cert-profiles.js";
import { Ipv4, Ipv4Cidr } from "./net.js";

/**
 * Typed step data. Builders on the agent turn a `NodeManifest` into a list of these; the one
 * executor runs them. Steps are plain data (no closures) so a plan can be printed, hashed for
 * the journal and compared across runs.
 */

const absPath = z.string().regex(/^\/[^\0]*$/, "must be an absolute path");
const fileMode = z.number().int().min(0).max(0o7777);

/** Common fields of every step. */
const stepBase = {
  /** Unique within one plan, e.g. `kubelet/config`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9./_-]*$/, "lower-case id made of [a-z0-9./_-]"),
  /** One line for humans: "write kubelet config". */
  description: z.string().min(1),
  dependsOn: z.array(z.string()).default([]),
  /** Total time the step may take including "not yet" retries. */
  deadlineSeconds: z.number().positive().default(300),
};

/** A file with exact content and mode; written atomically (temp + fsync + rename). */
export const FileStep = z.object({
  ...stepBase,
  kind: z.literal("file"),
  path: absPath,
  content: z.string(),
  /** `base64` for binary content. */
  encoding: z.enum(["utf8", "base64"]).default("utf8"),
  mode: fileMode.default(0o644),
});

export const DirectoryStep = z.object({
  ...stepBase,
  kind: z.literal("directory"),
  path: absPath,
  mode: fileMode.default(0o755),
});

/** A kernel module loaded now and at every boot (modules-load.d). */
export const KernelModuleStep = z.object({
  ...stepBase,
  kind: z.literal("kernelModule"),
  name: z.string().regex(/^[a-z0-9_-]+$/),
  /**
   * A path that exists when the kernel already provides the module's function without the
   * module (compiled in under another name, e.g. bridge netfilter's sysctls): then there is
   * nothing to load, which matters on kernels without module files.
   */
  presentIf: absPath.optional(),
});

/** A sysctl set now and at every boot (sysctl.d). */
export const SysctlStep = z.object({
  ...stepBase,
  kind: z.literal("sysctl"),
  key: z.string().regex(/^[a-z0-9_.-]+$/),
  value: z.string(),
});

/**
 * A systemd unit: its file (optional; units shipped in the image have none here), enabled at
 * boot, running, and restarted when any step listed in `restartOnChangeOf` changed this run.
 */
export const SystemdUnitStep = z.object({
  ...stepBase,
  kind: z.literal("systemdUnit"),
  /** Mount units carry systemd's path escapes (`mnt-sprout\x2dshared.mount`). */
  name: z.string().regex(/^[A-Za-z0-9@_.\\-]+\.(service|socket|timer|mount|target)$/),
  content: z.string().optional(),
  enabled: z.boolean().default(true),
  state: z.enum(["running", "stopped"]).default("running"),
  restartOnChangeOf: z.array(z.string()).default([]),
});

/**
 * An escape hatch for work no other kind covers. Idempotency comes from `creates` (skip when the
 * path exists) or `unless` (skip when that command exits 0); one of them is required.
 */
export const CommandStep = z
  .object({
    ...stepBase,
    kind: z.literal("command"),
    argv: z.array(z.string()).min(1),
    creates: absPath.optional(),
    unless: z.array(z.string()).min(1).optional(),
    env: z.record(z.string(), z.string()).default({}),
  })
  .refine((s) => s.creates !== undefined || s.unless !== undefined, {
    message: "a command step needs `creates` or `unless` to stay idempotent",
  });

/** What a `waitFor` step waits on. "Not yet" is retried with jittered backoff until the deadline. */
export const WaitCondition = z.discriminatedUnion("type", [
  /** A fact the coordinator publishes, e.g. `apiserver-ready` or `storage-formed`. */
  z.object({ type: z.literal("barrier"), name: z.string().regex(/^[a-z0-9-]+$/) }),
  z.object({ type: z.literal("tcp"), host: z.string(), port: z.number().int().min(1).max(65535) }),
  z.object({ type: z.literal("file"), path: absPath }),
]);

export const WaitForStep = z.object({
  ...stepBase,
  kind: z.literal("waitFor"),
  condition: WaitCondition,
});

/**
 * A key generated on this node (never leaving it) and a certificate for it, signed by the
 * coordinator for a named profile. In state while the certificate matches the key, verifies
 * against the stored CA and has more than `renewBeforeDays` left.
 */
export const CertificateStep = z.object({
  ...stepBase,
  kind: z.literal("certificate"),
  profile: CertProfileName,
  keyPath: absPath,
  certPath: absPath,
  /** The issuing CA's certificate, supplied by the manifest's files; the result must verify against it. */
  caPath: absPath,
  renewBeforeDays: z.number().int().positive().default(30),
});

/**
 * A route on the live node (to another node's pod CIDR via that node). Routes are runtime state:
 * an offline rootfs has none, and the agent applies them again at every boot.
 */
export const RouteStep = z.object({
  ...stepBase,
  kind: z.literal("route"),
  destination: Ipv4Cidr,
  via: Ipv4,
});

/**
 * A filesystem on a block device (a storage node's attached volume). Created only on a device
 * that holds nothing — no filesystem, no partition table — so a wrong device name never costs
 * data. A device that is not there yet (clouds attach volumes while the VM boots) is "not yet".
 */
export const FilesystemStep = z.object({
  ...stepBase,
  kind: z.literal("filesystem"),
  device: z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/),
  fsType: z.enum(["xfs", "ext4"]),
  label: z.string().regex(/^[A-Za-z0-9_-]{1,12}$/),
});

/**
 * A GlusterFS volume made of the given bricks (`<address>:<dir>`, in replica-set order): peers
 * probed, created, started, and grown by whole replica sets when bricks are added. Bricks are
 * never removed: shrinking a volume moves data and is left to an operator.
 */
export const GlusterVolumeStep = z.object({
  ...stepBase,
  kind: z.literal("glusterVolume"),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  replication: z.number().int().min(1),
  bricks: z.array(z.string().regex(/^[0-9.]+:\/[^\0\s]*$/)).min(1),
});

export const Step = z.union([
  FilesystemStep,
  GlusterVolumeStep,
  RouteStep,
  CertificateStep,
  FileStep,
  DirectoryStep,
  KernelModuleStep,
  SysctlStep,
  SystemdUnitStep,
  CommandStep,
  WaitForStep,
]);

export type Step = z.infer<typeof Step>;
/** What a builder writes: defaults may be left out. */
export type StepInput = z.input<typeof Step>;
export type StepKind = Step["kind"];
export type WaitCondition = z.infer<typeof WaitCondition>;
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** How one step ended in one executor run. */
export const StepOutcome = z.enum(["unchanged", "changed", "wouldChange", "failed", "skipped"]);
export type StepOutcome = z.infer<typeof StepOutcome>;
