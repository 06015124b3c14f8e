// The decode-cost and timing studies measure a copy bandwidth once and give every row its memory-traffic floor
// (decodeStepBytes or generationBytes / bandwidth); a folder finished before it recorded one still loads, with null floors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend } from '../../lib/backend';
import { resolveConfig } from '../../lib/config/presets';
import { decodeStepBytes, generationBytes } from '../../lib/costs/decode-bytes';
import { decodeCostSeries, ensureDecodeCostStudy, ensureTimingStudy, findInferenceResults, inferenceDir } from '../../lib/experiments/inference-runs';
import { type DecodeCostRow, studyTimingSeries, type TimingRow } from '../../lib/experiments/timing-study';
import { SCALES } from '../../lib/notebook/scale';
import { useCpu } from '../helpers/models';

const d = SCALES.smoke.decodeCost;
const OLD_COLUMNS = ['series', 'preset', 'cache', 'context', 'msPerTokenMedian', 'msPerTokenP25', 'msPerTokenP75', 'cacheMiB'];

test('decodeCost rows carry floorMs = decodeStepBytes / the study copy bandwidth, and ratioToFloor = median / floor', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-decode-cost-'));
  const r = await ensureDecodeCostStudy(d, { runsDir });
  const bw = r.copyBandwidth;
  assert.ok(bw, 'the result stores the copy bandwidth');
  assert.ok(bw.gbPerS > 0 && Number.isFinite(bw.gbPerS), `gbPerS ${bw.gbPerS}`);
  assert.ok(bw.bytes > 0);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.dir, 'copy-bandwidth.json'), 'utf8')), bw);
  const series = decodeCostSeries(d);
  assert.equal(r.rows.length, series.length * d.contexts.length);
  for (const row of r.rows) {
    assert.deepEqual(Object.keys(row), [...OLD_COLUMNS, 'floorMs', 'ratioToFloor'], 'new columns at the end');
    const s = series.find((x) => x.label === row.series);
    assert.ok(s);
    const config = resolveConfig(s.preset, { dropout: 0, ...s.overrides });
    const bytes = decodeStepBytes(config, row.context, s.cache, { batch: 1, dtype: 'fp32' }).total;
    assert.ok(row.floorMs !== null && row.floorMs > 0, `${row.series} @${row.context}: floorMs ${row.floorMs}`);
    assert.ok(Math.abs(row.floorMs - bytes / (bw.gbPerS * 1e6)) <= 1e-12 * row.floorMs, `${row.series} @${row.context}`);
    assert.ok(row.ratioToFloor !== null && Math.abs(row.ratioToFloor - row.msPerTokenMedian / row.floorMs) <= 1e-9 * row.ratioToFloor);
  }
  // A larger context reads more cache: the floor grows along each series.
  for (const s of series) {
    const f = r.rows.filter((x) => x.series === s.label).map((x) => x.floorMs as number);
    assert.ok(f[f.length - 1] > f[0], `${s.label}: ${f.join(', ')}`);
  }
  // Loaded again: the same rows and bandwidth, nothing re-measured.
  const again = await ensureDecodeCostStudy(d, { runsDir });
  assert.deepEqual(again.copyBandwidth, bw);
  assert.deepEqual(again.rows, r.rows);
});

test('a decodeCost folder finished without a copy bandwidth loads with null floors', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-decode-cost-old-'));
  const { backend, device } = describeBackend();
  const dir = inferenceDir(runsDir, 'decodeCost', d, backend, device);
  fs.mkdirSync(dir, { recursive: true });
  const oldRows = decodeCostSeries(d).flatMap((s) =>
    d.contexts.map((context) => ({ series: s.label, preset: s.preset, cache: s.cache, context, msPerTokenMedian: 2, msPerTokenP25: 1, msPerTokenP75: 3, cacheMiB: 0.5 })),
  );
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ study: 'decodeCost', spec: d, backend, device, rows: oldRows, dir, finishedAt: '2024-01-01T00:00:00.000Z' }));
  const r = await ensureDecodeCostStudy(d, { runsDir });
  assert.equal(r.copyBandwidth, null);
  assert.equal(r.finishedAt, '2024-01-01T00:00:00.000Z', 'the stored study is reused, not measured again');
  assert.equal(fs.existsSync(path.join(dir, 'copy-bandwidth.json')), false);
  assert.equal(r.rows.length, oldRows.length);
  for (const row of r.rows) {
    assert.equal(row.floorMs, null);
    assert.equal(row.ratioToFloor, null);
    assert.equal(row.msPerTokenMedian, 2);
    assert.deepEqual(Object.keys(row), [...OLD_COLUMNS, 'floorMs', 'ratioToFloor']);
  }
  const found = findInferenceResults<DecodeCostRow>(runsDir, 'decodeCost', d);
  assert.equal(found.length, 1);
  assert.equal(found[0].copyBandwidth, null);
  assert.ok(found[0].rows.every((x) => x.floorMs === null && x.ratioToFloor === null));
});

const t = SCALES.smoke.timing;

test('timing rows carry floorMs = generationBytes / the study copy bandwidth; an older folder loads with null floors', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-timing-'));
  const r = await ensureTimingStudy(t, { runsDir });
  const bw = r.copyBandwidth;
  assert.ok(bw && bw.gbPerS > 0 && Number.isFinite(bw.gbPerS));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.dir, 'copy-bandwidth.json'), 'utf8')), bw);
  const series = studyTimingSeries(t.presets[0], t.presets[1]);
  assert.equal(r.rows.length, series.length * 2 * t.lengths.length);
  for (const row of r.rows) {
    const s = series.find((x) => x.label === row.series);
    assert.ok(s);
    const config = resolveConfig(s.preset, { dropout: 0, ...s.overrides });
    const bytes = generationBytes(config, row.promptTokens, row.newTokens, s.cache).total;
    assert.ok(row.floorMs !== null && Math.abs(row.floorMs - bytes / (bw.gbPerS * 1e6)) <= 1e-12 * row.floorMs, `${row.series} ${row.sweep} ${row.newTokens}`);
    assert.ok(row.ratioToFloor !== null && Math.abs(row.ratioToFloor - row.medianMs / row.floorMs) <= 1e-9 * row.ratioToFloor);
  }
  // More new tokens read more: the floor grows along the new-tokens sweep of each series.
  for (const s of series) {
    const f = r.rows.filter((x) => x.series === s.label && x.sweep === 'new-tokens').map((x) => x.floorMs as number);
    assert.ok(f[f.length - 1] > f[0], `${s.label}: ${f.join(', ')}`);
  }
  // The same folder without floors and bandwidth (as finished before they were recorded): reused, floors null.
  const stored = JSON.parse(fs.readFileSync(path.join(r.dir, 'result.json'), 'utf8'));
  delete stored.copyBandwidth;
  for (const row of stored.rows) { delete row.floorMs; delete row.ratioToFloor; }
  fs.writeFileSync(path.join(r.dir, 'result.json'), JSON.stringify(stored));
  const old = await ensureTimingStudy(t, { runsDir });
  assert.equal(old.copyBandwidth, null);
  assert.equal(old.finishedAt, r.finishedAt, 'reused, not measured again');
  assert.ok(old.rows.every((x) => x.floorMs === null && x.ratioToFloor === null));
  assert.deepEqual(old.rows.map((x) => x.medianMs), r.rows.map((x) => x.medianMs));
  assert.equal(findInferenceResults<TimingRow>(runsDir, 'timing', t)[0].rows.length, r.rows.length);
});
