import { createHash, createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import ssh2 from "ssh2";
import { UserError } from "../../../shared/errors.js";

/**
 * Host-key verification for the ssh provider: a host is trusted only when its key is pinned in
 * `cluster.yaml` (an OpenSSH `SHA256:` fingerprint) or listed for its address in a known_hosts
 * file. There is no trust on first use: an unknown key stops `sprout up` for that host, and the
 * message shows the fingerprint the host offered so it can be checked out of band.
 */

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The public blob of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export function publicBlob(openSshPublic: string): Buffer {
  const key = ssh2.utils.parseKey(openSshPublic);
  if (key instanceof Error) throw key;
  return (Array.isArray(key) ? key[0]! : key).getPublicSSH();
}

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator writes a public key whose first byte is
 * zero as 31 bytes (about 1 key in 300), which nothing can parse afterwards: such a pair is
 * thrown away and made again.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519");
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
    if (attempt >= 20) throw new Error("ssh2 made 20 unusable ed25519 keys in a row");
  }
}

export interface KnownHost {
  /** Host patterns as written: plain names, `[host]:port`, or a hashed `|1|salt|hash` entry. */
  patterns: string[];
  blob: Buffer;
  /** `@revoked` lines list keys that must never be accepted. */
  revoked: boolean;
}

/** Parses a known_hosts file. Lines that are not host keys (comments, `@cert-authority`) are skipped. */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith("@")) {
      if (fields[0] !== "@revoked") continue; // CA lines vouch for certificates, which hosts here do not use
      revoked = true;
      fields.shift();
    }
    if (fields.length < 3) continue;
    const blob = Buffer.from(fields[2]!, "base64");
    if (blob.length === 0) continue;
    out.push({ patterns: fields[0]!.split(","), blob, revoked });
  }
  return out;
}

/** The name known_hosts uses for an address: the bare host on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  if (pattern.startsWith("!")) return false; // negations only exclude; a key is trusted by a positive match
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(name);
}

/** The keys known_hosts lists for this address (revoked ones apart). */
export function keysFor(known: KnownHost[], host: string, port: number): { trusted: Buffer[]; revoked: Buffer[] } {
  const name = knownHostsName(host, port);
  const matching = known.filter((k) => k.patterns.some((p) => patternMatches(p, name)) && !k.patterns.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name)));
  return { trusted: matching.filter((k) => !k.revoked).map((k) => k.blob), revoked: known.filter((k) => k.revoked).map((k) => k.blob) };
}

/** How one host's key is checked: a pinned fingerprint, or the keys known_hosts lists for it. */
export type HostKeyPolicy = { pinned: string } | { knownHosts: Buffer[]; revoked: Buffer[]; file: string };

/** A known_hosts file, read and parsed once, on first use (hosts with a pin never need it). */
export interface KnownHostsFile {
  file: string;
  entries(): Promise<KnownHost[]>;
}

export function knownHostsFile(file: string): KnownHostsFile {
  let read: Promise<KnownHost[]> | undefined;
  return { file, entries: () => (read ??= readFile(file, "utf8").then(parseKnownHosts)) };
}

/** Builds the policy for a host: its pin if it has one, else known_hosts (a file that must exist). */
export async function hostKeyPolicy(host: { address: string; port: number; hostKey?: string }, known: KnownHostsFile): Promise<HostKeyPolicy> {
  if (host.hostKey) return { pinned: host.hostKey.replace(/=+$/, "") };
  const entries = await known.entries().catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`host ${host.address}: no hostKey pinned in cluster.yaml and known_hosts ${known.file} cannot be read (${err.code ?? err.message}); pin the host's key (hostKey: SHA256:…) or list it in known_hosts`);
  });
  const { trusted, revoked } = keysFor(entries, host.address, host.port);
  return { knownHosts: trusted, revoked, file: known.file };
}

/** Why a key is refused, or undefined when it is accepted. */
export function refusal(policy: HostKeyPolicy, blob: Buffer): string | undefined {
  const offered = fingerprint(blob);
  if ("pinned" in policy) return offered === policy.pinned ? undefined : `host key ${offered} is not the pinned ${policy.pinned}`;
  if (policy.revoked.some((r) => r.equals(blob))) return `host key ${offered} is marked @revoked in ${policy.file}`;
  if (policy.knownHosts.some((k) => k.equals(blob))) return undefined;
  return policy.knownHosts.length === 0
    ? `host key ${offered} is not in ${policy.file} (no entry for this host; verify the fingerprint out of band, then add it or pin it as hostKey)`
    : `host key ${offered} does not match the key ${policy.file} lists for this host (POSSIBLE MAN-IN-THE-MIDDLE, or the host was reinstalled)`;
}
