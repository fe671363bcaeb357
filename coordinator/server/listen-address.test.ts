import { describe, expect, it } from "vitest";
import { UserError } from "../../shared/errors.js";
import { parseListen } from "./listen-address.js";

describe("parseListen", () => {
  it("splits host:port at the last colon", () => {
    expect(parseListen("127.0.0.1:7443")).toEqual({ host: "127.0.0.1", port: 7443 });
    expect(parseListen("0.0.0.0:0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseListen("coordinator.example:65535")).toEqual({ host: "coordinator.example", port: 65535 });
  });

  it("refuses a missing host, a missing or out-of-range port with a UserError naming the source and value", () => {
    for (const bad of ["7443", ":7443", "host:", "host:65536", "host:-1", "host:1.5", "host:0x10", "host:99999999", "host: 80", ""]) {
      expect(() => parseListen(bad, "--listen"), bad).toThrow(UserError);
      expect(() => parseListen(bad, "--listen"), bad).toThrow(`--listen must be host:port with a port from 0 to 65535, got "${bad}"`);
    }
    expect(() => parseListen("nope")).toThrow('coordinator.listen must be host:port with a port from 0 to 65535, got "nope"');
  });
});
