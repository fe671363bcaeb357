import { describe, expect, it } from "vitest";
import {
  JoinToken,
  TOKEN_ID_PATTERN,
  TOKEN_PATTERN,
  generateToken,
  hashTokenSecret,
  redactToken,
  splitToken,
  tokenSecretMatches,
} from "./token.js";

describe("join tokens", () => {
  it("have kubeadm's shape: 6-char id, dot, 16-char secret", () => {
    const { id, secret, token } = generateToken();
    expect(token).toMatch(TOKEN_PATTERN);
    expect(id).toMatch(TOKEN_ID_PATTERN);
    expect(secret).toMatch(/^[a-z0-9]{16}$/);
    expect(token).toBe(`${id}.${secret}`);
    expect(JoinToken.safeParse(token).success).toBe(true);
    expect(splitToken(token)).toEqual({ id, secret });
  });

  it("are unique across many generations", () => {
    const tokens = Array.from({ length: 2000 }, () => generateToken());
    expect(new Set(tokens.map((t) => t.token)).size).toBe(tokens.length);
    expect(new Set(tokens.map((t) => t.secret)).size).toBe(tokens.length);
  });

  it("use the whole alphabet (letters and digits), not a narrow subset", () => {
    const chars = new Set(Array.from({ length: 300 }, () => generateToken().secret).join(""));
    expect(chars.size).toBe(36);
  });

  it("refuse malformed input", () => {
    for (const bad of ["", "abcdef", "abcdef.", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdef", "abcdef.0123456789abcde", "abcdef.0123456789abcdef0", "abcdef-0123456789abcdef", " abcdef.0123456789abcdef"]) {
      expect(splitToken(bad), bad).toBeUndefined();
      expect(JoinToken.safeParse(bad).success, bad).toBe(false);
    }
  });
});

describe("secret hashing", () => {
  it("stores a sha256 that never equals or contains the secret", () => {
    for (let i = 0; i < 50; i++) {
      const { secret } = generateToken();
      const hash = hashTokenSecret(secret);
      expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(hash).not.toContain(secret);
      expect(hashTokenSecret(secret)).toBe(hash); // deterministic
    }
  });

  it("matches the right secret only", () => {
    const { secret } = generateToken();
    const stored = hashTokenSecret(secret);
    expect(tokenSecretMatches(secret, stored)).toBe(true);
    expect(tokenSecretMatches(generateToken().secret, stored)).toBe(false);
    expect(tokenSecretMatches(secret.slice(0, 15) + (secret[15] === "a" ? "b" : "a"), stored)).toBe(false);
    expect(tokenSecretMatches("", stored)).toBe(false);
  });

  it("returns false (does not throw) when the stored hash has another length", () => {
    const { secret } = generateToken();
    expect(tokenSecretMatches(secret, "sha256:abcd")).toBe(false);
    expect(tokenSecretMatches(secret, "")).toBe(false);
    expect(tokenSecretMatches(secret, hashTokenSecret(secret) + "0")).toBe(false);
  });
});

describe("redactToken", () => {
  it("keeps the id and never the secret", () => {
    for (let i = 0; i < 50; i++) {
      const { id, secret, token } = generateToken();
      const shown = redactToken(token);
      expect(shown.startsWith(`${id}.`)).toBe(true);
      expect(shown).not.toContain(secret);
      expect(shown).toBe(`${id}.****************`);
    }
  });

  it("does not echo malformed input (it may be a mistyped secret)", () => {
    expect(redactToken("abcdef.0123456789ABCDEF")).toBe("<malformed token>");
    expect(redactToken("hunter2")).toBe("<malformed token>");
  });
});
