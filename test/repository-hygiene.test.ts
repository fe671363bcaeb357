import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * What git must never hold, checked on what git tracks (the index), not on the working tree:
 * private keys, kubeconfigs with client keys, symlinks to absolute paths (they point into the
 * machine that made them and are broken in every clone), and benchmark work directories (their
 * deployments carry a whole cluster PKI). Benchmark clusters once committed keys this way; see
 * bench/README.md.
 */
const REPO = resolve(import.meta.dirname, "..");
const git = (...args: string[]) => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });

/** A PEM private key block with key material in it, not code or a test that names the header. */
const PEM_PRIVATE_KEY = /-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:, -]*\r?\n?[A-Za-z0-9+/=]{40,}/;
/** A kubeconfig's client key: the field with a base64 value (a real key is hundreds of characters). */
const CLIENT_KEY_DATA = /client-key-data:\s*["']?[A-Za-z0-9+/=]{40,}/;

interface Tracked {
  mode: string;
  object: string;
  path: string;
}

function tracked(): Tracked[] {
  return git("ls-files", "-s", "-z")
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split("\t") as [string, string];
      const [mode, object] = meta.split(" ") as [string, string];
      return { mode, object, path };
    });
}

/** Tracked text files that mention a key at all (git grep is fast); their content is read from the index. */
function candidates(pattern: string): string[] {
  try {
    return git("grep", "--cached", "-l", "-I", "-z", "-E", pattern).split("\0").filter(Boolean);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return []; // no match
    throw err;
  }
}

describe("what git tracks", () => {
  const files = tracked();

  it("is a git checkout with files in it", () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it("holds no private key", () => {
    const withKeys = candidates("PRIVATE KEY-----").filter((p) => PEM_PRIVATE_KEY.test(git("show", `:${p}`)));
    expect(withKeys).toEqual([]);
  });

  it("holds no kubeconfig with a client key", () => {
    const withKeys = candidates("client-key-data").filter((p) => CLIENT_KEY_DATA.test(git("show", `:${p}`)));
    expect(withKeys).toEqual([]);
  });

  it("holds no symlink to an absolute path", () => {
    const absolute = files.filter((f) => f.mode === "120000").map((f) => `${f.path} -> ${git("cat-file", "blob", f.object)}`).filter((l) => l.includes(" -> /"));
    expect(absolute).toEqual([]);
  });

  it("holds nothing of a benchmark's work directory", () => {
    expect(files.map((f) => f.path).filter((p) => p.split("/").includes(".work"))).toEqual([]);
  });

  it("finds what it looks for (the patterns match real keys and kubeconfigs)", () => {
    const key = execFileSync("openssl", ["genpkey", "-algorithm", "ed25519"], { encoding: "utf8" });
    expect(PEM_PRIVATE_KEY.test(key)).toBe(true);
    const rsa = execFileSync("openssl", ["genrsa", "-traditional", "2048"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(PEM_PRIVATE_KEY.test(rsa)).toBe(true);
    expect(CLIENT_KEY_DATA.test(`users:\n- name: a\n  user:\n    client-key-data: ${Buffer.from(key).toString("base64")}\n`)).toBe(true);
    // What the code and tests legitimately say: the header alone, the field name alone.
    expect(PEM_PRIVATE_KEY.test('expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\\n/);')).toBe(false);
    expect(CLIENT_KEY_DATA.test('{ "client-key-data": b64(i.client.keyPem) }')).toBe(false);
  });
});
