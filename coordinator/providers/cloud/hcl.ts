/**
 * A small writer for HCL native syntax (what OpenTofu, Terraform and Packer read): blocks with
 * labels, attributes, and values. Strings are always quoted and escaped, template sequences
 * included, so nothing a user writes in cluster.yaml can turn into an expression; expressions
 * (references, function calls) are written only where a renderer asks for one with `expr()`.
 */
export class HclExpr {
  constructor(readonly text: string) {}
}
export const expr = (text: string): HclExpr => new HclExpr(text);

export type HclValue = string | number | boolean | HclExpr | HclValue[] | { [key: string]: HclValue };
export interface HclAttr {
  attr: string;
  value: HclValue;
}
export interface HclBlock {
  block: string;
  labels: string[];
  body: HclBody;
}
export type HclBody = (HclAttr | HclBlock)[];

export const attr = (name: string, value: HclValue): HclAttr => ({ attr: name, value });
export const block = (type: string, labels: string[], body: HclBody): HclBlock => ({ block: type, labels, body });
/** Attributes from an object, in its key order; undefined values are left out. */
export const attrs = (o: Record<string, HclValue | undefined>): HclAttr[] =>
  Object.entries(o)
    .filter((e): e is [string, HclValue] => e[1] !== undefined)
    .map(([k, v]) => attr(k, v));

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t").replace(/\$\{/g, "$${").replace(/%\{/g, "%%{")}"`;
}

function value(v: HclValue, indent: string): string {
  if (v instanceof HclExpr) return v.text;
  if (typeof v === "string") return quote(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`HCL cannot hold ${v}`);
    return String(v);
  }
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.length === 0 ? "[]" : `[${v.map((x) => value(x, indent)).join(", ")}]`;
  const entries = Object.entries(v);
  if (entries.length === 0) return "{}";
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, x]) => `${inner}${IDENT.test(k) ? k : quote(k)} = ${value(x, inner)}`).join("\n")}\n${indent}}`;
}

export function renderHcl(body: HclBody, indent = ""): string {
  const out: string[] = [];
  for (const item of body) {
    if ("attr" in item) {
      if (!IDENT.test(item.attr)) throw new Error(`not an HCL attribute name: ${item.attr}`);
      out.push(`${indent}${item.attr} = ${value(item.value, indent)}`);
    } else {
      if (!IDENT.test(item.block)) throw new Error(`not an HCL block type: ${item.block}`);
      const head = [item.block, ...item.labels.map(quote)].join(" ");
      out.push(`${indent}${head} {\n${renderHcl(item.body, `${indent}  `)}${indent}}`);
      if (indent === "") out.push("");
    }
  }
  return out.length ? `${out.join("\n")}\n` : "";
}
