import { describe, expect, it } from "vitest";
import { canonicalIp, ipFromBytes, ipToBytes } from "./ip-address.js";

describe("ip-address", () => {
  it("reduces every spelling of an address to one text and its bytes", () => {
    expect(canonicalIp("10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalIp("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIp("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("::ffff:1.2.3.4")).toBe("::ffff:102:304");
    expect(ipToBytes("fe80::").toString("hex")).toBe("fe800000000000000000000000000000");
    expect(ipToBytes("192.168.1.2").toString("hex")).toBe("c0a80102");
    expect(ipFromBytes(ipToBytes("2001:db8::7"))).toBe("2001:db8::7");
  });

  it("rejects what is not an address", () => {
    expect(() => ipToBytes("1.2.3.x")).toThrow(/not an IP address/);
    expect(() => ipToBytes("1.2.3")).toThrow(/not an IP address/);
    expect(() => ipToBytes("node-1")).toThrow(/not an IP address/);
    expect(ipFromBytes(Buffer.from([1, 2, 3]))).toBeUndefined();
  });
});
