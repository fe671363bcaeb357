import type { z } from "zod";

/**
 * What a user-written file may say at a path, for the "unknown field" error: the fields the
 * schema knows there, and the one a misspelt field most likely meant. zod reports an unknown key
 * without the known ones, so the schema is walked along the issue's path, through the wrappers
 * that do not change the shape (default, optional, pipe, …), arrays and unions. For a union, the
 * member whose discriminator matches the value is taken, or all members' fields together.
 */
type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; options?: z.ZodType[]; discriminator?: string; values?: unknown[] };

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(["default", "prefault", "optional", "nullable", "readonly", "catch", "nonoptional", "success"]);

/** The schema under the wrappers and pipes that do not change what a value looks like. */
function unwrap(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return unwrap(def.innerType);
  if (def.type === "pipe" && def.in) return unwrap(def.in);
  return schema;
}

/** The object schemas a value at this point may be, unwrapped. */
function objectsOf(schema: z.ZodType, value: unknown): z.ZodType[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type === "object") return [inner];
  if (def.type === "union" && def.options) {
    const members = def.options.flatMap((o) => objectsOf(o, value));
    const tag = def.discriminator;
    const wanted = tag && value && typeof value === "object" ? (value as Record<string, unknown>)[tag] : undefined;
    const matching = members.filter((m) => literalValues(defOf(m).shape?.[tag ?? ""]).includes(wanted));
    return matching.length > 0 ? matching : members;
  }
  return [];
}

function literalValues(s: z.ZodType | undefined): unknown[] {
  const def = s && defOf(unwrap(s));
  return def?.type === "literal" ? (def.values ?? []) : [];
}

/** The schema that validates the value at `path` (one step: a key of an object, an index of an array). */
function childSchema(schema: z.ZodType, key: PropertyKey, value: unknown): z.ZodType | undefined {
  const def = defOf(unwrap(schema));
  if (def.type === "array" && def.element && typeof key === "number") return def.element;
  for (const o of objectsOf(schema, value)) {
    const field = defOf(o).shape?.[String(key)];
    if (field) return field;
  }
  return undefined;
}

/** The field names the schema knows for the object at `path` of `root` (empty if it cannot tell). */
export function knownFieldsAt(schema: z.ZodType, root: unknown, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let value: unknown = root;
  for (const key of path) {
    s = s && childSchema(s, key, value);
    value = value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key as string] : undefined;
  }
  if (!s) return [];
  return [...new Set(objectsOf(s, value).flatMap((o) => Object.keys(defOf(o).shape ?? {})))];
}

/** Edit distance, case-insensitive: `tokenTTL` is one letter case away from `tokenTtl`, not three. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length]!;
}

/** The known field a misspelling most likely meant, if one is close enough to be a typo. */
export function closestField(name: string, known: readonly string[]): string | undefined {
  let best: { field: string; d: number } | undefined;
  for (const field of known) {
    const d = distance(name, field);
    if (!best || d < best.d) best = { field, d };
  }
  return best && best.d <= Math.max(1, Math.floor(Math.min(name.length, best.field.length) / 3)) ? best.field : undefined;
}
