import { isIP } from "node:net";

/**
 * IP addresses as they appear in certificates: 4 or 16 raw bytes in an iPAddress SAN. Comparing
 * SANs by text would let "::1" and "0:0:0:0:0:0:0:1" (or an IPv4-mapped form) disagree, so both
 * sides are reduced to bytes / one canonical text. forge's own helper is lenient (it accepts
 * "1.2.3.x" as 1.2.3.NaN), hence these few lines.
 */

/** The 4- or 16-byte form of an IP address; throws on anything that is not an address. */
export function ipToBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split(".").map(Number));
  if (family === 6) return ipv6ToBytes(canonicalIpv6(ip));
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** The canonical text of 4 or 16 address bytes, or undefined for any other length. */
export function ipFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalIpv6(groups.join(":"));
}

/** One text per address: dotted quad for IPv4, RFC 5952 compressed lowercase for IPv6. */
export function canonicalIp(ip: string): string {
  const text = ipFromBytes(ipToBytes(ip));
  if (text === undefined) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  return text;
}

/** WHATWG URL host parsing implements RFC 5952 (and folds embedded IPv4 into hex groups). */
function canonicalIpv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** Expands a canonical IPv6 text (hex groups, at most one "::", no dotted tail) into 16 bytes. */
function ipv6ToBytes(canonical: string): Buffer {
  const [head = "", tail] = canonical.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}
