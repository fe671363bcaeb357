/**
 * Kubernetes resource quantities as byte counts: `1Gi`, `500M`, `1.5Ti`, `1e9`, `2048`. Storage
 * sizes are whole bytes, so a fractional result is rounded up, as the API server does when it
 * canonicalises a quantity.
 */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };
const QUANTITY = /^([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)|[eE]([+-]?[0-9]+))?$/;

/** Bytes of a quantity, or undefined when it is not a non-negative quantity. */
export function quantityBytes(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const value = Number(m[1]);
  const scale = m[2] ? (BINARY[m[2]] ?? DECIMAL[m[2]]!) : m[3] ? 10 ** Number(m[3]) : 1;
  const bytes = Math.ceil(value * scale);
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** A byte count people read: the largest binary unit that keeps one decimal (`9.5Gi`, `512Mi`, `100`). */
export function formatBytes(bytes: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    const v = bytes / BINARY[unit]!;
    if (v >= 1) return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
  }
  return String(bytes);
}
