import type { Context } from "hono";
import type { z } from "zod";
import { parseJsonWith } from "../../../shared/validate.js";

/** Reads the body as text and validates it, so malformed JSON and schema errors get the same clear 400. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S, where: string): Promise<z.infer<S>> {
  const type = c.req.header("content-type") ?? "";
  const text = await c.req.text();
  if (!type.startsWith("application/json")) {
    return parseJsonWith(schema, text, `${where} (expected Content-Type: application/json)`);
  }
  return parseJsonWith(schema, text, where);
}
