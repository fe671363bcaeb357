import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/**
 * Join tokens have kubeadm's shape `[a-z0-9]{6}.[a-z0-9]{16}`: the id is public (it names the
 * token in lists and logs), the secret is never stored or logged — only its SHA-256.
 */
export const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;
export const JoinToken = z.string().regex(TOKEN_PATTERN, "must look like abcdef.0123456789abcdef");

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomString(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export function generateToken(): { id: string; secret: string; token: string } {
  const id = randomString(6);
  const secret = randomString(16);
  return { id, secret, token: `${id}.${secret}` };
}

export function splitToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** The stored form of a secret. Tokens are high-entropy (~82 bits) and short-lived, so a fast hash suffices. */
export function hashTokenSecret(secret: string): string {
  return `sha256:${createHash("sha256").update(secret, "utf8").digest("hex")}`;
}

/** Constant-time comparison of a presented secret against its stored hash. */
export function tokenSecretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashTokenSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What may appear in logs: the id only. */
export function redactToken(token: string): string {
  const parts = splitToken(token);
  return parts ? `${parts.id}.****************` : "<malformed token>";
}
