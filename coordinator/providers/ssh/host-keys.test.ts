import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { ed25519KeyPair, fingerprint, hostKeyPolicy, keysFor, knownHostsFile, parseKnownHosts, publicBlob, refusal } from "./host-keys.js";
import { hostKeyAlgorithms } from "./ssh-session.js";

describe("ed25519KeyPair", () => {
  it("hands out only keys that parse (ssh2 writes about 1 public key in 300 with 31 bytes)", () => {
    for (let i = 0; i < 2000; i++) {
      const pair = ed25519KeyPair();
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });
});

describe("host-key verification", () => {
  // ssh-keygen (openssh-client) is the reference for fingerprints and hashed known_hosts.
  const dir = mkdtempSync(join(tmpdir(), "sprout-hostkeys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const a = ed25519KeyPair();
  const b = ed25519KeyPair();
  const blobA = publicBlob(a.public);
  const blobB = publicBlob(b.public);

  it("fingerprints a key exactly as ssh-keygen -l does", () => {
    writeFileSync(join(dir, "a.pub"), `${a.public}\n`);
    const out = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", join(dir, "a.pub")], { encoding: "utf8" });
    expect(out.split(" ")[1]).toBe(fingerprint(blobA));
  });

  it("finds a host's keys by address, by [address]:port, and in hashed entries written by ssh-keygen -H", () => {
    const file = join(dir, "known_hosts");
    const key = (pub: string) => pub.split(" ").slice(0, 2).join(" ");
    writeFileSync(file, [`# a comment`, `10.0.0.5,node-a ${key(a.public)}`, `[10.0.0.6]:2222 ${key(b.public)}`, `10.0.0.7 ${key(b.public)}`, ""].join("\n"));
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const hashed = readFileSync(file, "utf8");
    expect(hashed).not.toContain("10.0.0.5"); // really hashed
    const known = parseKnownHosts(hashed);
    expect(keysFor(known, "10.0.0.5", 22).trusted).toEqual([blobA]);
    expect(keysFor(known, "node-a", 22).trusted).toEqual([blobA]);
    expect(keysFor(known, "10.0.0.6", 2222).trusted).toEqual([blobB]);
    expect(keysFor(known, "10.0.0.6", 22).trusted).toEqual([]);
    expect(keysFor(parseKnownHosts(`10.0.0.* ${key(a.public)}\n`), "10.0.0.9", 22).trusted).toEqual([blobA]);
  });

  it("accepts only the pinned or listed key, and says why a key is refused", () => {
    expect(refusal({ pinned: fingerprint(blobA) }, blobA)).toBeUndefined();
    expect(refusal({ pinned: fingerprint(blobA) }, blobB)).toMatch(/is not the pinned SHA256:/);
    const file = "/home/u/.ssh/known_hosts";
    expect(refusal({ knownHosts: [blobA], revoked: [], file }, blobA)).toBeUndefined();
    expect(refusal({ knownHosts: [], revoked: [], file }, blobA)).toMatch(/not in \/home\/u\/.ssh\/known_hosts .*verify the fingerprint out of band/);
    expect(refusal({ knownHosts: [blobB], revoked: [], file }, blobA)).toMatch(/MAN-IN-THE-MIDDLE/);
    expect(refusal({ knownHosts: [blobA], revoked: [blobA], file }, blobA)).toMatch(/@revoked/);
  });

  it("names the host and the file when there is no pin and known_hosts cannot be read", async () => {
    await expect(hostKeyPolicy({ address: "10.0.0.5", port: 22 }, knownHostsFile(join(dir, "missing")))).rejects.toThrow(/host 10.0.0.5: no hostKey pinned .* known_hosts .*missing cannot be read \(ENOENT\)/);
  });
});

describe("host-key algorithms offered to a host", () => {
  it("are the types known_hosts lists for it, RSA with its SHA-2 signatures first", () => {
    const ed = publicBlob(ed25519KeyPair().public);
    const rsa = publicBlob(ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 }).public);
    const ecdsa = publicBlob(ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 }).public);
    expect(hostKeyAlgorithms([ecdsa])).toEqual(["ecdsa-sha2-nistp256"]);
    expect(hostKeyAlgorithms([rsa, ed])).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"]);
  });
});
