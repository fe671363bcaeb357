import type { StepKindImpl } from "./kind.js";

/** A directory with a mode. Only the leaf's mode is enforced; parents get 0755 when created. */
export const directoryKind: StepKindImpl<"directory"> = {
  async check(step, host) {
    const info = await host.stat(step.path);
    return info !== undefined && info.isDirectory && info.mode === step.mode;
  },
  async apply(step, host) {
    await host.mkdir(step.path, step.mode);
    // mkdir's mode passes through the umask and is ignored for an existing directory.
    await host.chmod(step.path, step.mode);
  },
};
