// The progress display: one redrawn line on a TTY, periodic plain lines elsewhere, nothing in 'none'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatDuration } from '../../lib/train/progress';
import type { StepMetrics } from '../../lib/train/types';

const metrics = (step: number): StepMetrics => ({
  kind: 'train', step, tokens: step * 100, loss: 5 - step / 100, lr: 1e-3, gradNorm: 1, tokensPerSec: 1000,
  liveTensors: 10, backend: 'cpu', time: new Date(0).toISOString(), elapsedSec: step / 10,
});

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 100, write: (s: string) => chunks.push(s) }, chunks };
}

test('on a TTY every step redraws one line with \\r, with tokens/s and an ETA', () => {
  const { stream, chunks } = sink(true);
  const p = createProgress('auto', 20, 100, 5, stream);
  for (let s = 1; s <= 20; s++) p.step(metrics(s));
  p.done();
  assert.equal(chunks.length, 21);
  assert.ok(chunks.slice(0, 20).every((c) => c.startsWith('\r') && !c.includes('\n')));
  assert.match(chunks[0], /step 1\/20 .*1000 tok\/s {2}ETA 2s/);
  assert.match(chunks[19], /\[#{20}\] step 20\/20/);
  assert.equal(chunks[20], '\n');
  assert.ok(chunks.every((c) => c.length <= 100), 'the line fits the terminal');
});

test('without a TTY, plain lines at step 1, every logEvery steps and at the end', () => {
  const { stream, chunks } = sink(false);
  const p = createProgress('auto', 12, 100, 5, stream);
  for (let s = 1; s <= 12; s++) p.step(metrics(s));
  assert.deepEqual(chunks.map((c) => Number(/^step (\d+)\//.exec(c)?.[1])), [1, 5, 10, 12]);
  assert.ok(chunks.every((c) => c.endsWith('\n') && !c.includes('\r')));
  const none = sink(true);
  createProgress('none', 12, 100, 5, none.stream).step(metrics(1));
  assert.equal(none.chunks.length, 0);
});

test('durations read as seconds, minutes or hours', () => {
  assert.equal(formatDuration(42), '42s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(7260), '2h01m');
  assert.equal(formatDuration(Infinity), '?');
});
