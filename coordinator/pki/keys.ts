import { createPrivateKey, createPublicKey, generateKeyPair } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";
import { boundedMemo } from "./bounded-memo.js";

/**
 * Key material for the coordinator's own identities (CAs, serving, service accounts). Node keys
 * are never generated here: each agent generates its key on its node and sends only a CSR.
 *
 * Generation uses node:crypto (OpenSSL, on the libuv thread pool) rather than node-forge: forge's
 * pure-JS RSA key generation takes seconds and blocks the event loop, OpenSSL takes ~50 ms off it.
 */

export interface KeyPairPem {
  /** PKCS#8 "PRIVATE KEY" PEM. */
  keyPem: string;
  /** SubjectPublicKeyInfo "PUBLIC KEY" PEM. */
  publicKeyPem: string;
}

export const RSA_KEY_BITS = 2048;

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateRsaKeyPair(bits = RSA_KEY_BITS): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { keyPem: privateKey, publicKeyPem: publicKey };
}

/** The SPKI PEM of a private key: used to re-derive sa.pub and to compare keys. */
export function publicKeyPemOfPrivateKey(keyPem: string): string {
  return createPublicKey(keyPem).export({ type: "spki", format: "pem" }).toString();
}

/** DER SubjectPublicKeyInfo of a public or private key PEM: the canonical form for comparisons. */
export function spkiDerOf(pem: string): Buffer {
  return createPublicKey(pem).export({ type: "spki", format: "der" });
}

/** Parsing a PEM private key costs ~0.5 ms — more than the signature itself — so signers reuse it. */
export const privateKeyObject: (keyPem: string) => KeyObject = boundedMemo((keyPem: string) => createPrivateKey(keyPem), (keyPem) => keyPem, 16);

/** forge builds X.509 structures around forge key objects; only public keys are needed for that. */
export function forgePublicKeyFromPem(publicKeyPem: string): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(publicKeyPem);
}

/**
 * A forge private key, for comparisons only (bench/pki-sign.ts measures forge's own signing).
 * Production signing goes through node:crypto — see tbs-signer.ts.
 */
export function forgePrivateKeyFromPem(keyPem: string): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(keyPem);
}
