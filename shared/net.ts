import { isIPv4 } from "node:net";
import { z } from "zod";

/** IPv4 helpers for CIDR validation and pod-CIDR allocation (IPv6 is not supported yet). */
export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const base = ipv4ToInt(m[1]!);
  if (base % size !== 0) return undefined; // host bits set: almost always a typo
  return { base, prefix, size };
}

export function formatCidr(c: Cidr): string {
  return `${intToIpv4(c.base)}/${c.prefix}`;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const n = ipv4ToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

/** The `index`-th subnet of `prefix` bits inside `parent`, or undefined when it does not fit. */
export function nthSubnet(parent: Cidr, prefix: number, index: number): Cidr | undefined {
  if (prefix < parent.prefix || prefix > 32 || !Number.isInteger(index) || index < 0) return undefined;
  const size = 2 ** (32 - prefix);
  if ((index + 1) * size > parent.size) return undefined;
  return { base: parent.base + index * size, prefix, size };
}

/** The n-th address of a CIDR (n=1 is the first usable, conventionally the gateway). */
export function nthAddress(c: Cidr, n: number): string {
  return intToIpv4(c.base + n);
}

export const Ipv4Cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: "must be an IPv4 CIDR with no host bits set, e.g. 10.244.0.0/16",
});
export const Ipv4 = z.string().refine((s) => isIPv4(s), { message: "must be an IPv4 address" });
