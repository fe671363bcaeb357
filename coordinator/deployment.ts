import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { ClusterSpec } from "../shared/cluster-spec.js";
import { UserError } from "../shared/errors.js";
import { parseYamlWith } from "../shared/validate.js";
import { writeFileAtomic } from "../shared/atomic-file.js";
import { CLUSTER_YAML_TEMPLATE } from "./cluster-yaml-template.js";

/**
 * A deployment directory: the user's `cluster.yaml` beside Sprout's own state in `.sprout/`
 * (PKI, tokens, nodes, timelines). Everything for one cluster lives in one folder the user
 * can back up, move or delete.
 */
export interface DeploymentPaths {
  root: string;
  clusterYaml: string;
  stateDir: string;
  pkiDir: string;
  adminDir: string;
  /** Written by a running coordinator: its URL, pid and CA pin, for the CLI to find it. */
  serveInfo: string;
  lock: string;
}

export function deploymentPaths(dir: string): DeploymentPaths {
  const root = resolve(dir);
  const stateDir = join(root, ".sprout");
  return {
    root,
    clusterYaml: join(root, "cluster.yaml"),
    stateDir,
    pkiDir: join(stateDir, "pki"),
    adminDir: join(stateDir, "admin"),
    serveInfo: join(stateDir, "coordinator.json"),
    lock: join(stateDir, "coordinator.lock"),
  };
}

export async function loadClusterSpec(paths: DeploymentPaths): Promise<ClusterSpec> {
  const spec = await readClusterSpec(paths);
  if (!spec) throw new UserError(`${paths.clusterYaml} not found: run \`sprout init ${paths.root}\` first`);
  return spec;
}

/** The deployment's spec, validated; undefined when it has no cluster.yaml yet. */
export async function readClusterSpec(paths: DeploymentPaths): Promise<ClusterSpec | undefined> {
  let text: string;
  try {
    text = await readFile(paths.clusterYaml, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${paths.clusterYaml}`, { cause: err });
  }
  return parseYamlWith(ClusterSpec, text, paths.clusterYaml);
}

/** A cluster name (DNS label) derived from the deployment directory's name. */
export function clusterNameFor(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "sprout";
}

/**
 * Creates the directory with a commented `cluster.yaml`; never overwrites an existing one, which
 * is validated before anything is written, so a bad one changes nothing on disk.
 */
export async function initDeployment(dir: string, name: string): Promise<{ paths: DeploymentPaths; created: boolean; spec: ClusterSpec }> {
  const paths = deploymentPaths(dir);
  const existing = await readClusterSpec(paths);
  await mkdir(paths.root, { recursive: true });
  await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
  if (existing) return { paths, created: false, spec: existing };
  const text = CLUSTER_YAML_TEMPLATE.replace("{{name}}", name);
  await writeFileAtomic(paths.clusterYaml, text, 0o644);
  return { paths, created: true, spec: parseYamlWith(ClusterSpec, text, paths.clusterYaml) };
}

/** A path written in cluster.yaml (a key file, known_hosts): `~/…` is the user's home; a relative one is the deployment directory's. */
export function userPath(paths: DeploymentPaths, p: string): string {
  if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(paths.root, p);
}
