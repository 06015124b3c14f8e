// Notebook 06's decode-time figure: one measured line per series and, where its rows have floors, one dashed
// `<series> floor` line of the same colour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodeCostRow, TimingSeries } from '../../lib/experiments/timing-study';
import { decodeTimeFigure } from '../../lib/notebook/decode-cost';

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
