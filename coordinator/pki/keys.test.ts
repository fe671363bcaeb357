import { createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import forge from "node-forge";
import {
  forgePrivateKeyFromPem,
  forgePublicKeyFromPem,
  generateRsaKeyPair,
  privateKeyObject,
  publicKeyPemOfPrivateKey,
  spkiDerOf,
} from "./keys.js";

describe("keys", () => {
  it("generates RSA-2048 as PKCS#8 / SPKI PEM that forge reads too", async () => {
    const { keyPem, publicKeyPem } = await generateRsaKeyPair();
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(keyPem);
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    expect(publicKeyPemOfPrivateKey(keyPem)).toBe(publicKeyPem);
    expect(spkiDerOf(keyPem).equals(spkiDerOf(publicKeyPem))).toBe(true);

    // forge sees the same modulus as OpenSSL.
    const forgePublic = forgePublicKeyFromPem(publicKeyPem);
    const forgePrivate = forgePrivateKeyFromPem(keyPem);
    const jwk = createPublicKey(publicKeyPem).export({ format: "jwk" });
    const modulusHex = Buffer.from(jwk.n ?? "", "base64url").toString("hex");
    expect(forgePublic.n.toString(16)).toBe(modulusHex);
    expect(forgePrivate.n.equals(forgePublic.n)).toBe(true);
    expect(forge.pki.publicKeyToPem(forgePublic).replace(/\r\n/g, "\n")).toBe(publicKeyPem);
  });

  it("reuses parsed private keys", async () => {
    const { keyPem } = await generateRsaKeyPair();
    expect(privateKeyObject(keyPem)).toBe(privateKeyObject(keyPem));
  });
});
