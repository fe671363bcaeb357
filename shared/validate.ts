import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from "yaml";
import type { z } from "zod";
import { ValidationError } from "./errors.js";
import { closestField, knownFieldsAt } from "./known-fields.js";

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

/** One problem per bad field: an issue with unknown keys becomes one per key, at that key. */
interface Problem {
  path: PropertyKey[];
  message: string;
  /** The problem is a key that should not be there: point at the key, not its value. */
  atKey: boolean;
}

function problemsOf(schema: z.ZodType, value: unknown, issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((i): Problem[] => {
    if (i.code !== "unrecognized_keys") return [{ path: [...i.path], message: issueMessage(i), atKey: false }];
    const known = knownFieldsAt(schema, value, i.path);
    return i.keys.map((key) => {
      const near = closestField(key, known);
      const hint = near ? `did you mean "${near}"?` : known.length > 0 ? `known fields here: ${known.join(", ")}` : "";
      return { path: [...i.path, key], message: `unknown field${hint ? `; ${hint}` : ""}`, atKey: true };
    });
  });
}

/** Validates an already-parsed value; throws `ValidationError` naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    where,
    problemsOf(schema, value, result.error.issues).map((p) => ({ path: formatPath(p.path), message: p.message })),
  );
}

/** The line of the deepest node of `path` the document has (of the key itself for `atKey`). */
function lineOf(doc: Document, lineCounter: LineCounter, p: Problem): number | undefined {
  if (p.atKey) {
    const parent = doc.getIn(p.path.slice(0, -1) as unknown[], true);
    const pair = isMap(parent) ? parent.items.find((it) => isScalar(it.key) && it.key.value === p.path.at(-1)) : undefined;
    if (isNode(pair?.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
  }
  for (let n = p.path.length; n >= 0; n--) {
    const node = doc.getIn(p.path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
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
  const value: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    where,
    problemsOf(schema, value, result.error.issues).map((p) => ({ path: formatPath(p.path), message: p.message, line: lineOf(doc, lineCounter, p) })),
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
