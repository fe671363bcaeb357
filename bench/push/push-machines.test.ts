import ssh2 from "ssh2";
import { describe, expect, it } from "vitest";
import { ed25519KeyPair } from "./push-machines.js";

describe("ed25519KeyPair", () => {
  it("hands out only keys that parse (ssh2 writes about 1 public key in 300 with 31 bytes)", () => {
    for (let i = 0; i < 2000; i++) {
      const pair = ed25519KeyPair();
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });
});
