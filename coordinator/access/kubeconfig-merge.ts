import { readFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import { UserError } from "../../shared/errors.js";
import { writeFileAtomic } from "../../shared/atomic-file.js";

/**
 * Merges a one-cluster kubeconfig into an existing one (usually ~/.kube/config), kubectl-style:
 * entries with the same names are replaced, everything else is kept, and the new context
 * becomes current. A file that is not a kubeconfig is refused, never overwritten.
 */
type Named = { name: string; [k: string]: unknown };
type Kubeconfig = { clusters?: Named[]; users?: Named[]; contexts?: Named[]; "current-context"?: string; [k: string]: unknown };

export async function mergeKubeconfig(target: string, addition: string): Promise<void> {
  const add = parse(addition) as Kubeconfig;
  const text = await readFile(target, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return "";
    throw err;
  });
  let existing: Kubeconfig = { apiVersion: "v1", kind: "Config", preferences: {} };
  if (text.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = parse(text);
    } catch (err) {
      throw new UserError(`${target} is not valid YAML (${(err as Error).message.split("\n")[0]}); not touching it — pass --kubeconfig FILE to write elsewhere`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UserError(`${target} is not a kubeconfig; not touching it`);
    existing = parsed as Kubeconfig;
  }
  for (const key of ["clusters", "users", "contexts"] as const) {
    const incoming = add[key] ?? [];
    const names = new Set(incoming.map((e) => e.name));
    existing[key] = [...(existing[key] ?? []).filter((e) => !names.has(e.name)), ...incoming];
  }
  existing["current-context"] = add["current-context"];
  await writeFileAtomic(target, stringify(existing), 0o600);
}
