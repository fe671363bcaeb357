import { describe, expect, it } from "vitest";
import { formatBytes, quantityBytes } from "./quantity.js";

describe("storage quantities", () => {
  it("reads binary, decimal and exponent suffixes as bytes", () => {
    expect(quantityBytes("1Gi")).toBe(1073741824);
    expect(quantityBytes("1.5Mi")).toBe(1572864);
    expect(quantityBytes("500M")).toBe(500_000_000);
    expect(quantityBytes("2048")).toBe(2048);
    expect(quantityBytes("1e3")).toBe(1000);
    expect(quantityBytes("1500m")).toBe(2); // 1.5 bytes, rounded up
  });

  it("refuses what is not a quantity", () => {
    for (const bad of ["", "Gi", "1GB", "-1Gi", "1 Gi x", "ten"]) expect(quantityBytes(bad), bad).toBeUndefined();
  });

  it("writes sizes people read", () => {
    expect(formatBytes(1073741824)).toBe("1Gi");
    expect(formatBytes(10200547328)).toBe("9.5Gi");
    expect(formatBytes(100)).toBe("100");
  });
});
