import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { writeFileAtomic } from "../../shared/atomic-file.js";
import { UserError } from "../../shared/errors.js";
import { createCaCertificate } from "./ca.js";
import { certificateMatchesKey } from "./certificate.js";
import type { CertificateAndKeyPem } from "./certificate.js";
import { generateRsaKeyPair, publicKeyPemOfPrivateKey, spkiDerOf } from "./keys.js";
import type { KeyPairPem } from "./keys.js";

/**
 * Load-or-create for one key pair on disk. The rules, for every pair:
 * - both files present: load them and check they belong together;
 * - the public half (certificate, sa.pub) present but the private key missing: a clear error —
 *   a new key would silently invalidate every certificate, CA pin or token already handed out;
 * - only the private key present (a crash between the two writes, the key is written first):
 *   re-derive the public half from it, so the CA pin does not change;
 * - neither: generate.
 * Keys are written 0600 and public files 0644, each atomically (temp file, fsync, rename).
 */

export const KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

export async function loadOrCreateCaFiles(
  certPath: string,
  keyPath: string,
  commonName: string,
): Promise<CertificateAndKeyPem> {
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined) {
    if (keyPem === undefined) throw missingKey(certPath, keyPath);
    checkCaPair(certPath, certPem, keyPath, keyPem);
    return { certPem, keyPem };
  }
  const pair = keyPem === undefined ? await generateRsaKeyPair() : existingKeyPair(keyPath, keyPem);
  if (keyPem === undefined) await writeFileAtomic(keyPath, pair.keyPem, KEY_MODE);
  const created = createCaCertificate(commonName, pair.keyPem, pair.publicKeyPem);
  await writeFileAtomic(certPath, created, PUBLIC_MODE);
  return { certPem: created, keyPem: pair.keyPem };
}

/** The service-account signing pair (sa.key / sa.pub): a bare key pair, no certificate. */
export async function loadOrCreateKeyPairFiles(keyPath: string, publicKeyPath: string): Promise<KeyPairPem> {
  const [publicKeyPem, keyPem] = await Promise.all([readIfExists(publicKeyPath), readIfExists(keyPath)]);
  if (publicKeyPem !== undefined) {
    if (keyPem === undefined) throw missingKey(publicKeyPath, keyPath);
    if (!sameKey(keyPath, keyPem, publicKeyPath, publicKeyPem)) throw mismatch(publicKeyPath, keyPath);
    return { keyPem, publicKeyPem };
  }
  const pair = keyPem === undefined ? await generateRsaKeyPair() : existingKeyPair(keyPath, keyPem);
  if (keyPem === undefined) await writeFileAtomic(keyPath, pair.keyPem, KEY_MODE);
  await writeFileAtomic(publicKeyPath, pair.publicKeyPem, PUBLIC_MODE);
  return pair;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${path}`, { cause: err });
  }
}

function existingKeyPair(keyPath: string, keyPem: string): KeyPairPem {
  return { keyPem, publicKeyPem: parsed(keyPath, () => publicKeyPemOfPrivateKey(keyPem)) };
}

function checkCaPair(certPath: string, certPem: string, keyPath: string, keyPem: string): void {
  const cert = parsed(certPath, () => new X509Certificate(certPem));
  if (!cert.ca) throw new UserError(`${certPath} is not a CA certificate (basicConstraints CA:false)`);
  if (new Date(cert.validTo).getTime() <= Date.now()) {
    throw new UserError(`${certPath} expired on ${cert.validTo}; rotate the cluster CA`);
  }
  if (!parsed(keyPath, () => certificateMatchesKey(certPem, keyPem))) throw mismatch(certPath, keyPath);
}

function sameKey(keyPath: string, keyPem: string, publicKeyPath: string, publicKeyPem: string): boolean {
  return parsed(keyPath, () => spkiDerOf(keyPem)).equals(parsed(publicKeyPath, () => spkiDerOf(publicKeyPem)));
}

/** Turns "cannot parse" into an error that names the file instead of an OpenSSL decoder code. */
function parsed<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UserError(`${path} is not a valid PEM file: ${(err as Error).message}`, { cause: err });
  }
}

function missingKey(publicPath: string, keyPath: string): UserError {
  return new UserError(
    `${publicPath} exists but its private key ${keyPath} is missing; restore it from a backup ` +
      `(a new key would invalidate every certificate and CA pin already issued, so none is generated)`,
  );
}

function mismatch(publicPath: string, keyPath: string): UserError {
  return new UserError(`${keyPath} is not the private key of ${publicPath}; restore the matching pair`);
}
