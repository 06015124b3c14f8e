import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, lineChartSvg, niceTicks } from '../../lib/notebook/svg-chart';

test('downsample keeps at most max points and the mean of the series', () => {
  const pts = Array.from({ length: 1000 }, (_, i) => [i, Math.sin(i / 10) + i / 100] as const);
  const out = downsample(pts, 100);
  assert.equal(out.length, 100);
  const mean = (a: readonly (readonly [number, number])[]) => a.reduce((s, p) => s + p[1], 0) / a.length;
  assert.ok(Math.abs(mean(out) - mean(pts)) < 1e-9);
  // x stays increasing, so the line does not fold back.
  for (let i = 1; i < out.length; i++) assert.ok(out[i][0] > out[i - 1][0]);
  // Short series and non-finite values.
  assert.deepEqual(downsample([[0, 1], [1, NaN], [2, 3]], 10), [[0, 1], [2, 3]]);
});

test('niceTicks gives round, evenly spaced values covering the range', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  const t = niceTicks(2.31, 7.9, 5);
  assert.ok(t[0] >= 2.31 && t[t.length - 1] <= 7.9);
  const steps = t.slice(1).map((v, i) => +(v - t[i]).toFixed(9));
  assert.ok(steps.every((s) => s === steps[0]));
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('lineChartSvg draws one path per line series, dots for marker series, and escapes labels', () => {
  const svg = lineChartSvg(
    [
      { name: 'train <loss>', color: '#00f', points: [[1, 5], [2, 4], [3, 3.5]] },
      { name: 'val', color: '#f00', markers: true, points: [[2, 4.2], [3, 3.9]] },
    ],
    { xLabel: 'step & time' },
  );
  assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  assert.equal((svg.match(/<path /g) ?? []).length, 1);
  assert.equal((svg.match(/<circle /g) ?? []).length, 2);
  assert.ok(svg.includes('train &lt;loss&gt;') && svg.includes('step &amp; time'));
  assert.ok(!svg.includes('<loss>'));
  assert.match(lineChartSvg([{ name: 'x', color: '#000', points: [] }]), /waiting for the first step/);
});
