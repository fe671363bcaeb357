import { LineCounter, parseDocument, isNode } from "yaml";
import type { z } from "zod";
import { ValidationError } from "./errors.js";

/** Formats a zod issue path the way users write it: `nodeGroups[1].count`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** zod's message, except that a missing field says so plainly. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) return `missing (expected ${issue.expected})`;
  return issue.message;
}

/** Validates an already-parsed value; throws `ValidationError` naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    where,
    result.error.issues.map((i) => ({ path: formatPath(i.path), message: issueMessage(i) })),
  );
}

/**
 * Parses YAML text and validates it, reporting YAML syntax errors and schema errors with the
 * line they sit on, so a corrupt `cluster.yaml` or bootstrap file points at the exact spot.
 */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, where: string): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(
      where,
      doc.errors.map((e) => ({
        path: "",
        message: `YAML syntax: ${e.message.split("\n")[0]}`,
        // `linePos` is only filled in by `prettyErrors`; the offset is always there.
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  const value: unknown = doc.toJS();
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new ValidationError(
    where,
    result.error.issues.map((i) => {
      // Point at the deepest node that exists in the document for this path.
      let line: number | undefined;
      for (let n = i.path.length; n >= 0 && line === undefined; n--) {
        const node = doc.getIn(i.path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
      }
      return { path: formatPath(i.path), message: issueMessage(i), line };
    }),
  );
}

/** Parses JSON text and validates it; malformed JSON becomes a `ValidationError` too. */
export function parseJsonWith<S extends z.ZodType>(schema: S, text: string, where: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes a piece of the input in its message; that piece could be part of a secret.
    // Greedy: the quoted piece may itself contain quotes.
    const reason = (err as Error).message.replace(/".*"/s, "…");
    throw new ValidationError(where, [{ path: "", message: `malformed JSON: ${reason}` }]);
  }
  return parseWith(schema, value, where);
}
