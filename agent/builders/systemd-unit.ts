/**
 * systemd unit files for the control plane, and the inverse: the argv a unit's `ExecStart=`
 * runs. Arguments are written one per line; an argument systemd would read differently from
 * how it is written (whitespace, quotes, `\`, `%` specifiers, `$` variables) is refused at
 * render time rather than silently mangled at boot.
 */
export interface UnitSpec {
  description: string;
  after?: string[];
  before?: string[];
  wants?: string[];
  /** Other `[Unit]` settings, in order (e.g. `DefaultDependencies=no`). */
  unit?: [string, string][];
  /** One command per entry (a oneshot may run several in order). */
  execStart: string[][];
  execStartPre?: string[][];
  execStop?: string[][];
  /** `[Service]` settings other than ExecStart, in order. */
  service: [string, string][];
  /** `WantedBy=`; `undefined` writes no `[Install]` section. */
  wantedBy?: string;
}

const PLAIN = /^[A-Za-z0-9_@+=:,./-]+$/;

/** One argument as systemd's ExecStart reads it back unchanged. */
export function quoteArg(arg: string): string {
  if (arg === "") return "''";
  if (/[\\%$\n'"]/.test(arg)) throw new Error(`unit argument ${JSON.stringify(arg)} holds a character systemd would rewrite (\\ % $ quote or newline)`);
  return PLAIN.test(arg) ? arg : `'${arg}'`;
}

export function renderUnit(u: UnitSpec): string {
  const lines = ["# Written by sprout-agent from the node manifest; local edits are replaced.", "[Unit]", `Description=${u.description}`];
  if (u.wants?.length) lines.push(`Wants=${u.wants.join(" ")}`);
  if (u.after?.length) lines.push(`After=${u.after.join(" ")}`);
  if (u.before?.length) lines.push(`Before=${u.before.join(" ")}`);
  for (const [k, v] of u.unit ?? []) lines.push(`${k}=${v}`);
  lines.push("", "[Service]");
  for (const [k, v] of u.service) lines.push(`${k}=${v}`);
  const commands = (key: string, list: string[][] | undefined) => {
    for (const argv of list ?? []) lines.push(`${key}=${argv.map(quoteArg).join(" \\\n  ")}`);
  };
  commands("ExecStartPre", u.execStartPre);
  commands("ExecStart", u.execStart);
  commands("ExecStop", u.execStop);
  if (u.wantedBy !== undefined) lines.push("", "[Install]", `WantedBy=${u.wantedBy}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Every `ExecStart=` of a unit as an argv: continuation lines joined, words split on blanks,
 * single and double quotes removed. Covers what `renderUnit` writes (it refuses the rest).
 */
export function parseExecStart(unit: string): string[][] {
  const joined = unit.replace(/\\\n/g, " ");
  const out: string[][] = [];
  for (const line of joined.split("\n")) {
    const m = /^ExecStart=(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push(splitWords(m[1]!));
  }
  return out;
}

function splitWords(text: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current ??= "";
    } else if (/\s/.test(ch)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? "") + ch;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in ExecStart: ${text}`);
  if (current !== undefined) words.push(current);
  return words;
}

/** `--name=value` flags from a record, in insertion order; `undefined` values are left out. */
export function flags(record: Record<string, string | number | boolean | undefined>): string[] {
  return Object.entries(record)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `--${k}=${String(v)}`);
}
