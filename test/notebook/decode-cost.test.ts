// Notebook 06's decode-time figure and notebook 05's timing figure: one measured line per series (and machine) and,
// where its rows have floors, one dashed `<series> floor` line of the same colour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodeCostRow, TimingSeries } from '../../lib/experiments/timing-study';
import { decodeTimeFigure, machineRows, type MachineTimingRow, timingFigure } from '../../lib/notebook/decode-cost';

const series: TimingSeries[] = [
  { label: 'A', preset: 'tiny-mha-rope', cache: 'kv' },
  { label: 'B', preset: 'tiny-mla-rope', cache: 'latent' },
  { label: 'C', preset: 'tiny-mla-rope', cache: 'absorbed' },
];
const row = (s: TimingSeries, context: number, floorMs: number | null): DecodeCostRow => ({
  series: s.label, preset: s.preset, cache: s.cache, context, msPerTokenMedian: 10 + context, msPerTokenP25: 9, msPerTokenP75: 11, cacheMiB: 1,
  floorMs, ratioToFloor: floorMs === null ? null : (10 + context) / floorMs,
});

test('decodeTimeFigure draws one dashed floor line per series with floors, in its colour', () => {
  // A has floors, B was measured before the floor (nulls), C has floors too.
  const rows = [row(series[0], 8, 0.5), row(series[0], 32, 0.7), row(series[1], 8, null), row(series[1], 32, null), row(series[2], 8, 0.4), row(series[2], 32, 0.6)];
  const f = decodeTimeFigure(rows, series, 't');
  assert.deepEqual(f.data.map((t) => t.name), ['A', 'A floor', 'B', 'C', 'C floor']);
  const floors = f.data.filter((t) => String(t.name).endsWith(' floor'));
  for (const t of floors) {
    const measured = f.data.find((m) => `${m.name} floor` === t.name);
    assert.ok(measured);
    assert.equal((t.line as { dash: string }).dash, 'dash');
    assert.equal((t.line as { color: string }).color, (measured.line as { color: string }).color);
    assert.equal(t.mode, 'lines');
  }
  assert.deepEqual(floors[0].x, [8, 32]);
  assert.deepEqual(floors[0].y, [0.5, 0.7]);
  assert.deepEqual(f.data[0].y, [18, 42]);
  assert.notEqual((f.data[0].line as { color: string }).color, (f.data[2].line as { color: string }).color);
});

test('decodeTimeFigure draws no floor line for rows without floors', () => {
  const rows = series.flatMap((s) => [row(s, 8, null), row(s, 32, null)]);
  assert.deepEqual(decodeTimeFigure(rows, series, 't').data.map((t) => t.name), ['A', 'B', 'C']);
});

test('decodeTimeFigure draws each machine of rows from several: solid for the first, dotted for the next, names saying which', () => {
  const on = (backend: string, device: string) => (r: ReturnType<typeof row>) => ({ ...r, backend, device });
  const gpu = [row(series[0], 8, 0.5), row(series[0], 32, 0.7)].map(on('webgpu', 'nvidia / nvidia-h200 / NVIDIA: 580'));
  const cpu = [row(series[0], 8, 2), row(series[0], 32, 3)].map(on('cpu', 'AMD EPYC (2 cores)'));
  const f = decodeTimeFigure([...gpu, ...cpu], series, 't');
  assert.deepEqual(f.data.map((t) => t.name), ['A · webgpu', 'A · webgpu floor', 'A · cpu', 'A · cpu floor']);
  assert.deepEqual(f.data.map((t) => (t.line as { dash: string }).dash), ['solid', 'dash', 'dot', 'dash']);
  assert.deepEqual(f.data[3].y, [2, 3]);
  assert.deepEqual(f.data.map((t) => t.showlegend), [undefined, false, undefined, false]);
  const twoGpus = decodeTimeFigure([...gpu, ...gpu.map(on('webgpu', 'amd / mi300'))], series, 't');
  assert.deepEqual(twoGpus.data.filter((t) => t.showlegend === undefined).map((t) => t.name), ['A · webgpu on nvidia / nvidia-h200', 'A · webgpu on amd / mi300']);
  // A third machine: its own dash and marker, so that two GPUs' lines of one colour stay apart from the CPU's.
  const three = decodeTimeFigure([...gpu, ...gpu.map(on('webgpu', 'nvidia / nvidia-h100')), ...cpu], series, 't').data.filter((t) => t.showlegend === undefined);
  assert.deepEqual(three.map((t) => (t.line as { dash: string }).dash), ['solid', 'dot', 'dashdot']);
  assert.deepEqual(three.map((t) => (t.marker as { symbol: string }).symbol), ['circle', 'square', 'diamond']);
});

const timingRow = (s: TimingSeries, sweep: 'new-tokens' | 'prompt', n: number, device: string, floorMs: number | null): MachineTimingRow => ({
  series: s.label, preset: s.preset, layers: 2, cache: s.cache, sweep, promptTokens: sweep === 'prompt' ? n : 100, newTokens: sweep === 'new-tokens' ? n : 100,
  medianMs: 100 + n, p25Ms: 95 + n, p75Ms: 110 + n, minMs: 90, maxMs: 120, repeats: 5, floorMs, ratioToFloor: floorMs === null ? null : (100 + n) / floorMs,
  backend: 'webgpu', device,
});

test('timingFigure: per sweep, one line per series and machine, a dashed floor where that machine has floors', () => {
  // The GPU's rows have floors; the CPU's were measured before the study recorded a bandwidth.
  const rows = ['gpu (x)', 'cpu (y)'].flatMap((d, di) => series.flatMap((s) => (['new-tokens', 'prompt'] as const).flatMap((sw) => [10, 50].map((n) => timingRow(s, sw, n, d, di === 0 ? n / 10 : null)))));
  const f = timingFigure(rows, series, 'new-tokens', 't');
  assert.deepEqual(f.data.map((t) => t.name), ['A · webgpu on gpu', 'A · webgpu on gpu floor', 'B · webgpu on gpu', 'B · webgpu on gpu floor', 'C · webgpu on gpu', 'C · webgpu on gpu floor', 'A · webgpu on cpu', 'B · webgpu on cpu', 'C · webgpu on cpu']);
  assert.deepEqual(f.data[0].x, [10, 50]);
  assert.deepEqual(f.data[0].y, [110, 150]);
  assert.deepEqual((f.data[0].error_y as { array: number[]; arrayminus: number[] }).array, [10, 10]);
  assert.deepEqual((f.data[0].error_y as { array: number[]; arrayminus: number[] }).arrayminus, [5, 5]);
  assert.deepEqual(f.data[1].y, [1, 5]);
  assert.equal((f.data[1].line as { dash: string }).dash, 'dash');
  assert.equal((f.data[1].line as { color: string }).color, (f.data[0].line as { color: string }).color);
  assert.equal((f.data[6].line as { dash: string }).dash, 'dot');
  assert.equal((f.data[6].line as { color: string }).color, (f.data[0].line as { color: string }).color);
  // The prompt sweep reads its x from the prompt length.
  const p = timingFigure(rows, series, 'prompt', 't');
  assert.deepEqual(p.data[0].x, [10, 50]);
  assert.equal(((p.layout?.xaxis as { title: { text: string } }).title).text, 'prompt tokens');
});

test('machineRows tags every row with its study\'s machine, in the studies\' order', () => {
  const rows = machineRows([{ rows: [{ a: 1 }, { a: 2 }], backend: 'webgpu', device: 'g' }, { rows: [{ a: 3 }], backend: 'cpu', device: 'c' }]);
  assert.deepEqual(rows, [{ a: 1, backend: 'webgpu', device: 'g' }, { a: 2, backend: 'webgpu', device: 'g' }, { a: 3, backend: 'cpu', device: 'c' }]);
});
