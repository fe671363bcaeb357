import { Resvg } from "@resvg/resvg-js";

/**
 * Deployment time against cluster size, like KubeNow's Figure 4a: one colour per side, measured
 * points as filled dots with min–max whiskers, modelled points as hollow dots on a dashed line.
 * Both axes are logarithmic (sizes double; push grows much faster than pull). SVG, and PNG
 * rendered from the same SVG (resvg, with the system's DejaVu fonts).
 */
export interface Series {
  label: string;
  color: string;
  measured: { nodes: number; medianMs: number; minMs: number; maxMs: number }[];
  modelled: { nodes: number; ms: number }[];
}

const W = 900;
const H = 560;
const M = { left: 80, right: 330, top: 50, bottom: 60 };
/** Y ticks in minutes: round durations from 10 s to a week. */
const TICKS = [1 / 6, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1440, 2880, 10080];

export function deployChartSvg(title: string, series: Series[]): string {
  const xs = series.flatMap((s) => [...s.measured.map((p) => p.nodes), ...s.modelled.map((p) => p.nodes)]);
  const ys = series.flatMap((s) => [...s.measured.flatMap((p) => [p.minMs, p.maxMs]), ...s.modelled.map((p) => p.ms)]).filter((y) => y > 0);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const lo = Math.min(...ys) / 60_000;
  const hi = Math.max(...ys) / 60_000;
  const [y0, y1] = [[...TICKS].reverse().find((t) => t <= lo) ?? TICKS[0]!, TICKS.find((t) => t >= hi) ?? hi];
  const px = (n: number) => M.left + ((Math.log2(n) - Math.log2(x0)) / Math.max(1e-9, Math.log2(x1) - Math.log2(x0))) * (W - M.left - M.right);
  const py = (ms: number) => H - M.bottom - ((Math.log10(ms / 60_000) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - M.right / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  // Grid and axes.
  for (let n = x0; n <= x1; n *= 2) {
    out.push(`<line x1="${px(n)}" y1="${M.top}" x2="${px(n)}" y2="${H - M.bottom}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px(n)}" y="${H - M.bottom + 18}" text-anchor="middle">${n}</text>`);
  }
  for (const v of TICKS.filter((t) => t >= y0 && t <= y1)) {
    out.push(`<line x1="${M.left}" y1="${py(v * 60_000)}" x2="${W - M.right}" y2="${py(v * 60_000)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${M.left - 8}" y="${py(v * 60_000) + 4}" text-anchor="end">${fmtMinutes(v)}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">nodes (1 master+edge, service:storage 5:3)</text>`);
  out.push(`<text transform="translate(22 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">deployment time (minutes, log scale)</text>`);
  out.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`);
  // Series.
  series.forEach((s, i) => {
    // The model's line covers every size, the measured ones too (where it was checked); its
    // markers only where nothing was measured.
    const model = [...s.modelled].sort((a, b) => a.nodes - b.nodes);
    if (model.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" stroke-dasharray="6 4" points="${model.map((p) => `${px(p.nodes)},${py(p.ms)}`).join(" ")}"/>`);
    for (const p of model.filter((m) => !s.measured.some((r) => r.nodes === m.nodes))) out.push(`<circle cx="${px(p.nodes)}" cy="${py(p.ms)}" r="4" fill="white" stroke="${s.color}" stroke-width="1.5"/>`);
    const real = [...s.measured].sort((a, b) => a.nodes - b.nodes);
    if (real.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${real.map((p) => `${px(p.nodes)},${py(p.medianMs)}`).join(" ")}"/>`);
    for (const p of real) {
      out.push(`<line x1="${px(p.nodes)}" y1="${py(p.minMs)}" x2="${px(p.nodes)}" y2="${py(p.maxMs)}" stroke="${s.color}" stroke-width="2"/>`);
      out.push(`<circle cx="${px(p.nodes)}" cy="${py(p.medianMs)}" r="5" fill="${s.color}"/>`);
    }
    const ly = M.top + 10 + i * 22;
    out.push(`<line x1="${W - M.right + 15}" y1="${ly}" x2="${W - M.right + 45}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"/>`);
    out.push(`<text x="${W - M.right + 52}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  const ly = M.top + 20 + series.length * 22;
  out.push(`<circle cx="${W - M.right + 30}" cy="${ly}" r="5" fill="#555"/><text x="${W - M.right + 52}" y="${ly + 4}">measured here (median, min–max;</text><text x="${W - M.right + 52}" y="${ly + 20}">all nodes on this machine's 2 cores)</text>`);
  out.push(`<circle cx="${W - M.right + 30}" cy="${ly + 38}" r="4" fill="white" stroke="#555" stroke-width="1.5"/><text x="${W - M.right + 52}" y="${ly + 42}">modelled, one VM per node (dashed)</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, fitTo: { mode: "zoom", value: 2 } }).render().asPng();
}

function fmtMinutes(v: number): string {
  if (v >= 1440) return `${+(v / 1440).toFixed(1)} d`;
  if (v >= 60) return `${+(v / 60).toFixed(1)} h`;
  if (v >= 1) return `${v} min`;
  return `${Math.round(v * 60)} s`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
