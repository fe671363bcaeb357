import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ValidationError } from "./errors.js";
import { parseJsonWith } from "./validate.js";

describe("parseJsonWith on malformed input", () => {
  it("says what is wrong without repeating the input, which may hold a secret", () => {
    let err: unknown;
    try {
      // V8 would quote this input (it is short) in its message: `Unexpected token 'a', "{"token": abcdef}" …`.
      parseJsonWith(z.object({}), `{"token": abcdef}`, "join request");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const message = (err as Error).message;
    expect(message).toContain("join request is invalid");
    expect(message).toContain("malformed JSON");
    expect(message).not.toContain("abcdef");
  });
});
