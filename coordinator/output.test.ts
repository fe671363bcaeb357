import { describe, expect, it } from "vitest";
import { UserError } from "../shared/errors.js";
import { parseFormat } from "./output.js";

describe("parseFormat", () => {
  it("accepts human (default, or table), json and csv", () => {
    expect(parseFormat(undefined)).toBe("human");
    expect(parseFormat("table")).toBe("human");
    expect(parseFormat("json")).toBe("json");
    expect(parseFormat("csv")).toBe("csv");
  });

  it("refuses anything else with a UserError (exit code 2) naming the value", () => {
    expect(() => parseFormat("yaml")).toThrow(UserError);
    expect(() => parseFormat("yaml")).toThrow('unknown output format "yaml"');
  });
});
