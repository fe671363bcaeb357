/**
 * CLI output conventions: results on stdout (`-o json` for machines), progress and errors on
 * stderr, colour only on a TTY and never with NO_COLOR, no spinners when not a TTY.
 */
import { UserError } from "../shared/errors.js";

export type OutputFormat = "human" | "json" | "csv";

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === "human" || value === "table") return "human";
  if (value === "json" || value === "csv") return value;
  throw new UserError(`unknown output format "${value}" (use json or csv)`); // a bad -o is bad input: exit 2
}

const useColor = () => process.stderr.isTTY && !process.env.NO_COLOR;

export const color = {
  green: (s: string) => (useColor() ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (useColor() ? `\x1b[31m${s}\x1b[0m` : s),
  yellow: (s: string) => (useColor() ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (useColor() ? `\x1b[2m${s}\x1b[0m` : s),
};

export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => stripAnsi(r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell + " ".repeat(Math.max(0, (widths[i] ?? 0) - stripAnsi(cell).length))).join("  ").trimEnd()).join("\n") + "\n";
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
