// A small line chart as an SVG string. The live training display redraws it on every update, so it must be
// cheap and self-contained (no plotly.js needed on the page, readable in any notebook viewer).

export interface Series {
  name: string;
  /** [x, y] pairs; non-finite values are skipped. */
  points: readonly (readonly [number, number])[];
  color: string;
  /** Draw dots instead of a line (sparse series such as evaluations). */
  markers?: boolean;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** Lines are averaged down to at most this many points, so a long run still draws fast. */
  maxPoints?: number;
}

const PAD = { left: 56, right: 12, top: 24, bottom: 36 };

/** Averages consecutive points into at most `max` buckets (keeps the curve's shape, drops the noise). */
export function downsample(points: readonly (readonly [number, number])[], max: number): [number, number][] {
  const good = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (good.length <= max) return good.map(([x, y]) => [x, y]);
  const out: [number, number][] = [];
  const per = good.length / max;
  for (let b = 0; b < max; b++) {
    const slice = good.slice(Math.floor(b * per), Math.floor((b + 1) * per));
    const mean = (i: 0 | 1) => slice.reduce((a, p) => a + p[i], 0) / slice.length;
    out.push([mean(0), mean(1)]);
  }
  return out;
}

/** Round numbers for the axis ticks: about `count` steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(1) : String(Number(v.toPrecision(4))));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChartSvg(series: readonly Series[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 280;
  const max = opts.maxPoints ?? 400;
  const drawn = series.map((s) => ({ ...s, pts: s.markers ? downsample(s.points, Infinity) : downsample(s.points, max) }));
  const all = drawn.flatMap((s) => s.pts);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (all.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">waiting for the first step…</text></svg>`);
    return parts.join('');
  }
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = extent(all.map((p) => p[1]));
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - PAD.top - PAD.bottom);

  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 4}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle" fill="#555">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="none" stroke="#999"/>`);
  if (opts.xLabel) parts.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel) parts.push(`<text transform="translate(12 ${(PAD.top + H - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);

  drawn.forEach((s, i) => {
    if (s.markers) {
      for (const [x, y] of s.pts) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    } else if (s.pts.length > 0) {
      const d = s.pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    parts.push(`<text x="${PAD.left + 8 + i * 120}" y="${PAD.top - 8}" fill="${s.color}">■ ${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
