// rateComparisonRows: a run at another learning rate beside the swept-rate run of the same preset, seed and budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateComparisonRows } from '../../lib/experiments/report';
import type { RunResult } from '../../lib/experiments/runs';

const run = (preset: string, seed: number, lr: number | undefined, valPerplexity: number, tokens = 1000) =>
  ({ spec: { preset, seed, data: 'embedded', train: { lr } }, tokens, valPerplexity }) as unknown as RunResult;

test('pairs each other-rate run with the swept run of its preset, seed and token budget, in the other runs\' order', () => {
  const swept = [run('mha', 0, 1.2e-3, 143.37), run('mla', 0, 1.2e-3, 177.13), run('mla', 1, 1.2e-3, 177.0), run('mqa', 0, 1.2e-3, 151.85)];
  const other = [run('mla', 0, 6e-4, 174.1), run('mha', 0, 6e-4, 160.17)];
  const rows = rateComparisonRows(swept, other);
  assert.deepEqual(rows.map((r) => [r.preset, r.seed, r.sweptLr, r.otherLr]), [['mla', 0, 1.2e-3, 6e-4], ['mha', 0, 1.2e-3, 6e-4]]);
  assert.equal(rows[0].sweptValPpl, 177.13);
  assert.ok(Math.abs(rows[0].changePct - (100 * (174.1 - 177.13)) / 177.13) < 1e-12);
  assert.ok(rows[1].changePct > 11 && rows[1].changePct < 12, 'MHA did worse at the other rate');
});

test('leaves out a run whose seed or budget has no swept partner, and reports a default rate as null', () => {
  const swept = [run('mla', 0, undefined, 100, 1000)];
  assert.deepEqual(rateComparisonRows(swept, [run('mla', 1, 6e-4, 90), run('mla', 0, 6e-4, 90, 2000)]), []);
  const [r] = rateComparisonRows(swept, [run('mla', 0, 6e-4, 90)]);
  assert.equal(r.sweptLr, null);
  assert.equal(r.changePct, -10);
});
