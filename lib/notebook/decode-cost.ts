// The inference figures, each series beside its memory-traffic floor (from the study's copy bandwidth) drawn as a
// dashed line of its colour: notebook 06's ms per token against context (DecodeCostRow.floorMs) and notebook 05's
// ms per generation against new or prompt tokens (TimingRow.floorMs).
import type { DecodeCostRow, TimingRow, TimingSeries } from '../experiments/timing-study';
import { PALETTE } from './experiment';
import type { Figure } from './plotly';

/**
 * A short label per machine of these rows, for legends: the backend where each machine has its own, else the
 * backend and the adapter (Dawn's vendor / device, without the driver string or a CPU's core count); '' for rows
 * without one.
 */
function machineLabel(rows: readonly { backend?: string; device?: string }[]): (r: { backend?: string; device?: string }) => string {
  const byBackend = new Set(rows.map((r) => r.backend)).size === new Set(rows.map((r) => `${r.backend}|${r.device}`)).size;
  const adapter = (d: string) => d.split(' / ').slice(0, 2).join(' / ').split(' (')[0];
  return (r) => (r.backend === undefined ? '' : byBackend ? r.backend : `${r.backend} on ${adapter(r.device ?? '')}`);
}

/**
 * How the i-th machine's lines are drawn: solid for the first, then dotted, dash-dotted, long-dash-dotted (the
 * floors keep 'dash'), with a marker shape of its own, so that three machines' lines of one colour stay apart.
 */
export function machineStyle(i: number): { dash: string; symbol: string } {
  const dashes = ['solid', 'dot', 'dashdot', 'longdashdot'];
  const symbols = ['circle', 'square', 'diamond', 'triangle-up'];
  return { dash: dashes[i % dashes.length], symbol: symbols[i % symbols.length] };
}

/** Every study's rows, each with the machine that measured it (InferenceResult's backend and device), in the studies' order. */
export function machineRows<R>(studies: readonly { rows: readonly R[]; backend: string; device: string }[]): (R & { backend: string; device: string })[] {
  return studies.flatMap((st) => st.rows.map((r) => ({ ...r, backend: st.backend, device: st.device })));
}

/** A decode-cost row with the machine that measured it (InferenceResult's backend and device). */
export type MachineDecodeCostRow = DecodeCostRow & { backend?: string; device?: string };

/**
 * Measured median per series; a dashed `<series> floor` line where the rows have floors (none for older folders).
 * Rows of several machines (backend and device set) draw one line per series and machine, named `<series> ·
 * <backend>` (with the adapter where two share a backend), each machine in its machineStyle (solid for the first),
 * floors out of the legend; rows of one machine keep the series' names.
 */
export function decodeTimeFigure(rows: readonly MachineDecodeCostRow[], series: readonly TimingSeries[], title: string): Figure {
  const machineOf = machineLabel(rows);
  const machines = [...new Set(rows.map(machineOf))];
  const data: Record<string, unknown>[] = [];
  machines.forEach((m, mi) => {
    series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const r = rows.filter((p) => p.series === s.label && machineOf(p) === m);
      if (r.length === 0) return;
      const name = machines.length === 1 ? s.label : `${s.label} · ${m}`;
      const style = machineStyle(mi);
      data.push({ x: r.map((p) => p.context), y: r.map((p) => p.msPerTokenMedian), mode: 'lines+markers', name, line: { color, dash: style.dash }, marker: { symbol: style.symbol }, legendgroup: name });
      const f = r.filter((p) => p.floorMs !== null && p.floorMs !== undefined);
      if (f.length === 0) return;
      // With several machines the floors stay out of the legend (each toggles with its series).
      data.push({ x: f.map((p) => p.context), y: f.map((p) => p.floorMs), mode: 'lines', name: `${name} floor`, line: { color, dash: 'dash', width: 1.5 }, legendgroup: name, showlegend: machines.length === 1 });
    });
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

/** A timing row with the machine that measured it (InferenceResult's backend and device). */
export type MachineTimingRow = TimingRow & { backend: string; device: string };

/**
 * Notebook 05: ms per generation (median, interquartile band) against new tokens ('new-tokens') or prompt tokens
 * ('prompt'), one line per series and machine (machineStyle: solid for the first listed), and a dashed floor line per
 * series and machine where its rows have floors (none for older folders).
 */
export function timingFigure(rows: readonly MachineTimingRow[], series: readonly TimingSeries[], sweep: TimingRow['sweep'], title: string): Figure {
  const machineOf = machineLabel(rows);
  const machines = [...new Set(rows.map(machineOf))];
  const xOf = (p: TimingRow) => (sweep === 'new-tokens' ? p.newTokens : p.promptTokens);
  const data: Record<string, unknown>[] = [];
  machines.forEach((m, mi) => {
    series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const r = rows.filter((x) => x.series === s.label && x.sweep === sweep && machineOf(x) === m);
      if (r.length === 0) return;
      const group = `${s.label} · ${m}`;
      data.push({
        x: r.map(xOf), y: r.map((p) => p.medianMs), mode: 'lines+markers', name: group, legendgroup: group,
        line: { color, dash: machineStyle(mi).dash }, marker: { symbol: machineStyle(mi).symbol },
        error_y: { type: 'data', symmetric: false, array: r.map((p) => p.p75Ms - p.medianMs), arrayminus: r.map((p) => p.medianMs - p.p25Ms) },
      });
      const f = r.filter((p) => p.floorMs !== null && p.floorMs !== undefined);
      if (f.length === 0) return;
      data.push({ x: f.map(xOf), y: f.map((p) => p.floorMs), mode: 'lines', name: `${group} floor`, legendgroup: group, line: { color, dash: 'dash', width: 1.5 }, showlegend: machines.length === 1 });
    });
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: sweep === 'new-tokens' ? 'new tokens' : 'prompt tokens' } },
      yaxis: { title: { text: 'ms per generation (median, IQR; dashed: memory-traffic floor)' }, type: 'log' },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}
