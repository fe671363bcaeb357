import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { UserError } from "../../../shared/errors.js";
import type { DeploymentPaths } from "../../deployment.js";

/**
 * The coordinator state a cloud master needs to run the coordinator (cluster.yaml, the cluster
 * CA and the other keys, the hashed join tokens), sealed for user-data. Cloud metadata is readable
 * by anything on the VM that can reach the metadata service, pods included, so the state travels
 * encrypted (AES-256-GCM) and the key never goes through the cloud: `sprout up` hands it to the
 * master over SSH once the VM answers. Without the key the user-data is useless.
 */
const MAGIC = "sprout-sealed-state-v1";

/** What goes: cluster.yaml and the state the coordinator reads, not the admin credentials or node history. */
const INCLUDE = ["cluster.yaml", ".sprout/pki", ".sprout/tokens"];

export interface Sealed {
  /** base64 text, ready for a user-data file. */
  text: string;
  key: Buffer;
}

/** `extra`: more files of the deployment the coordinator reads (the edge's own TLS certificate and key). */
export async function sealState(paths: DeploymentPaths, extra: string[] = []): Promise<Sealed> {
  const files: Record<string, SealedFile> = {};
  for (const rel of [...INCLUDE, ...extra]) await collect(paths.root, resolve(paths.root, rel), files);
  const plain = gzipSync(Buffer.from(JSON.stringify({ magic: MAGIC, files })), { level: 9 });
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(MAGIC));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { text: Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64"), key };
}

type SealedFile = { mode: number; text: string } | { mode: number; data: string };

async function collect(root: string, path: string, out: Record<string, SealedFile>): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    for (const name of (await readdir(path)).sort()) await collect(root, join(path, name), out);
    return;
  }
  if (!st.isFile()) return;
  const rel = relative(root, path);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new UserError(`${path} is outside the deployment directory ${root}: the cloud master could not have it; keep it (edge.tls files) inside ${root}`);
  const bytes = await readFile(path);
  // Text (PEM, YAML, JSON) as itself: base64 inside the archive would cost a third more after gzip,
  // and AWS allows 16 KiB of user-data in all.
  const text = bytes.toString("utf8");
  out[rel] = Buffer.from(text, "utf8").equals(bytes) ? { mode: st.mode & 0o777, text } : { mode: st.mode & 0o777, data: bytes.toString("base64") };
}

/** Written last, so a half-written state is never taken for a whole one. */
export const UNSEALED_MARKER = ".sprout/unsealed";

/**
 * Decrypts and writes the state into `dir` (refusing paths outside it), all or nothing: into a
 * temporary directory first, marked complete, then renamed into place (replacing whatever an
 * earlier, interrupted attempt left). Returns how many files.
 */
export async function unsealState(text: string, key: Buffer, dir: string): Promise<number> {
  const raw = Buffer.from(text.trim(), "base64");
  if (raw.length < 29 || key.length !== 32) throw new UserError("sealed coordinator state: truncated data or a key that is not 32 bytes");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(MAGIC));
  decipher.setAuthTag(raw.subarray(12, 28));
  let plain: Buffer;
  try {
    plain = gunzipSync(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]));
  } catch {
    throw new UserError("sealed coordinator state: the key does not open it (wrong key, or the data was changed)");
  }
  const doc = JSON.parse(plain.toString("utf8")) as { magic: string; files: Record<string, SealedFile> };
  if (doc.magic !== MAGIC) throw new UserError(`sealed coordinator state: not ${MAGIC}`);
  const final = resolve(dir);
  const root = `${final}.unsealing`;
  await rm(root, { recursive: true, force: true });
  for (const [rel, f] of Object.entries(doc.files)) {
    const target = resolve(root, rel);
    if (!target.startsWith(root + sep)) throw new UserError(`sealed coordinator state: ${rel} would land outside ${final}`);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(target, "text" in f ? Buffer.from(f.text, "utf8") : Buffer.from(f.data, "base64"), { mode: 0o600 });
    await chmod(target, f.mode & 0o777); // keys stay 0600, certificates 0644, as on the workstation
  }
  await mkdir(join(root, ".sprout"), { recursive: true, mode: 0o700 });
  await writeFile(join(root, UNSEALED_MARKER), `${new Date().toISOString()}\n`, { mode: 0o600 });
  await rm(final, { recursive: true, force: true });
  await rename(root, final);
  return Object.keys(doc.files).length;
}
