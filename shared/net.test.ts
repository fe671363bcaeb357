import { describe, expect, it } from "vitest";
import { Ipv4, Ipv4Cidr, cidrContains, cidrsOverlap, formatCidr, intToIpv4, ipv4ToInt, nthAddress, nthSubnet, parseCidr } from "./net.js";

const cidr = (text: string) => {
  const c = parseCidr(text);
  if (!c) throw new Error(`test CIDR ${text} did not parse`);
  return c;
};

describe("parseCidr", () => {
  it("parses network addresses with their size", () => {
    expect(parseCidr("10.244.0.0/16")).toEqual({ base: ipv4ToInt("10.244.0.0"), prefix: 16, size: 65536 });
    expect(parseCidr("0.0.0.0/0")).toEqual({ base: 0, prefix: 0, size: 2 ** 32 });
    expect(parseCidr("192.168.1.7/32")).toEqual({ base: ipv4ToInt("192.168.1.7"), prefix: 32, size: 1 });
    expect(formatCidr(cidr("10.96.0.0/12"))).toBe("10.96.0.0/12");
  });

  it("rejects host bits (almost always a typo)", () => {
    expect(parseCidr("10.244.1.0/16")).toBeUndefined();
    expect(parseCidr("10.0.0.1/8")).toBeUndefined();
    expect(parseCidr("192.168.1.128/24")).toBeUndefined();
    expect(parseCidr("192.168.1.128/25")).toBeDefined();
  });

  it("rejects bad prefixes and bad addresses", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0", "10.0.0.0/100", "10.0.0.0/a", "256.0.0.0/8", "10.0.0/8", "010.0.0.0/8", " 10.0.0.0/8", "10.0.0.0/8\n", "::/0"]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it("backs the zod schemas", () => {
    expect(Ipv4Cidr.safeParse("10.0.0.0/8").success).toBe(true);
    expect(Ipv4Cidr.safeParse("10.0.0.1/8").success).toBe(false);
    expect(Ipv4.safeParse("10.0.0.1").success).toBe(true);
    expect(Ipv4.safeParse("10.0.0.256").success).toBe(false);
  });
});

describe("address arithmetic", () => {
  it("round-trips addresses through integers", () => {
    for (const ip of ["0.0.0.0", "10.244.3.1", "255.255.255.255", "192.168.0.255"]) expect(intToIpv4(ipv4ToInt(ip))).toBe(ip);
    expect(ipv4ToInt("255.255.255.255")).toBe(2 ** 32 - 1);
  });

  it("nthAddress counts from the network address", () => {
    expect(nthAddress(cidr("10.96.0.0/12"), 1)).toBe("10.96.0.1");
    expect(nthAddress(cidr("10.96.0.0/12"), 10)).toBe("10.96.0.10");
    expect(nthAddress(cidr("10.0.0.0/24"), 256)).toBe("10.0.1.0");
  });
});

describe("nthSubnet", () => {
  const parent = cidr("10.244.0.0/16");

  it("returns consecutive, aligned subnets", () => {
    expect(formatCidr(nthSubnet(parent, 24, 0)!)).toBe("10.244.0.0/24");
    expect(formatCidr(nthSubnet(parent, 24, 1)!)).toBe("10.244.1.0/24");
    expect(formatCidr(nthSubnet(parent, 24, 255)!)).toBe("10.244.255.0/24");
    expect(formatCidr(nthSubnet(parent, 26, 5)!)).toBe("10.244.1.64/26");
    expect(formatCidr(nthSubnet(parent, 16, 0)!)).toBe("10.244.0.0/16");
  });

  it("returns undefined when the subnet does not fit", () => {
    expect(nthSubnet(parent, 24, 256)).toBeUndefined();
    expect(nthSubnet(parent, 16, 1)).toBeUndefined();
    expect(nthSubnet(parent, 8, 0)).toBeUndefined(); // larger than the parent
  });

  it("never returns a subnet outside the parent for a bad index or prefix", () => {
    expect(nthSubnet(parent, 24, -1)).toBeUndefined();
    expect(nthSubnet(parent, 24, 1.5)).toBeUndefined();
    expect(nthSubnet(parent, 24, Number.NaN)).toBeUndefined();
    expect(nthSubnet(parent, 33, 0)).toBeUndefined();
  });

  it("every subnet lies inside its parent", () => {
    for (let i = 0; i < 256; i += 17) {
      const sub = nthSubnet(parent, 24, i)!;
      expect(cidrsOverlap(parent, sub)).toBe(true);
      expect(cidrContains(parent, intToIpv4(sub.base))).toBe(true);
      expect(cidrContains(parent, intToIpv4(sub.base + sub.size - 1))).toBe(true);
    }
  });
});

describe("cidrsOverlap / cidrContains", () => {
  it("detects overlap in both directions, including nesting", () => {
    expect(cidrsOverlap(cidr("10.96.0.0/12"), cidr("10.100.0.0/16"))).toBe(true);
    expect(cidrsOverlap(cidr("10.100.0.0/16"), cidr("10.96.0.0/12"))).toBe(true);
    expect(cidrsOverlap(cidr("10.0.0.0/8"), cidr("10.0.0.0/8"))).toBe(true);
    expect(cidrsOverlap(cidr("0.0.0.0/0"), cidr("192.168.0.0/16"))).toBe(true);
  });

  it("treats adjacent ranges as disjoint", () => {
    expect(cidrsOverlap(cidr("10.0.0.0/24"), cidr("10.0.1.0/24"))).toBe(false);
    expect(cidrsOverlap(cidr("10.244.0.0/16"), cidr("10.96.0.0/12"))).toBe(false);
    expect(cidrsOverlap(cidr("10.240.0.0/24"), cidr("10.244.0.0/16"))).toBe(false);
  });

  it("contains exactly the addresses from the first to the last", () => {
    const c = cidr("10.244.0.0/16");
    expect(cidrContains(c, "10.244.0.0")).toBe(true);
    expect(cidrContains(c, "10.244.255.255")).toBe(true);
    expect(cidrContains(c, "10.243.255.255")).toBe(false);
    expect(cidrContains(c, "10.245.0.0")).toBe(false);
    expect(cidrContains(c, "not-an-ip")).toBe(false);
  });
});
