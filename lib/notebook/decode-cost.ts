// Notebook 06's decode-time figure: ms per token against context for each series, and beside each its
// memory-traffic floor (DecodeCostRow.floorMs, from the study's copy bandwidth) as a dashed line of its colour.
import type { DecodeCostRow, TimingSeries } from '../experiments/timing-study';
import { PALETTE } from './experiment';
import type { Figure } from './plotly';

/** Measured median per series; a dashed `<series> floor` line where the rows have floors (none for older folders). */
export function decodeTimeFigure(rows: readonly DecodeCostRow[], series: readonly TimingSeries[], title: string): Figure {
  const data: Record<string, unknown>[] = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const r = rows.filter((p) => p.series === s.label);
    data.push({ x: r.map((p) => p.context), y: r.map((p) => p.msPerTokenMedian), mode: 'lines+markers', name: s.label, line: { color }, legendgroup: s.label });
    const f = r.filter((p) => p.floorMs !== null && p.floorMs !== undefined);
    if (f.length === 0) return;
    data.push({ x: f.map((p) => p.context), y: f.map((p) => p.floorMs), mode: 'lines', name: `${s.label} floor`, line: { color, dash: 'dash', width: 1.5 }, legendgroup: s.label });
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'tokens in the cache' }, type: 'log' },
      yaxis: { title: { text: 'ms per token (median; dashed: memory-traffic floor)' }, type: 'log' },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}
