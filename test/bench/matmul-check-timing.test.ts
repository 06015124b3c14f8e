// The host timing of `mla bench matmul-check`: each run of n products ends with one readback, whose latency
// must cancel out of the per-product time, and the variants a caller names are checked before any GPU work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { productMs, unknownMatmulVariants } from '../../lib/bench/matmul-check';

test('productMs takes the readback latency out of the per-product time', () => {
  // 0.2 ms a product and a 1.1 ms readback: runs of 10 and 30 products take 3.1 and 7.1 ms.
  const latency = 1.1;
  const per = 0.2;
  const n = 10;
  const ms = productMs(latency + n * per, latency + 3 * n * per, n);
  assert.ok(Math.abs(ms - per) < 1e-12, `${ms}`);
  // The old estimate (one run over its count) carried latency / n with it.
  assert.ok((latency + n * per) / n > per + 0.1);
});

test('productMs falls back to an upper bound where jitter makes the difference non-positive', () => {
  assert.equal(productMs(5, 4.5, 10), 4.5 / 30);
  assert.equal(productMs(5, 5, 10), 5 / 30);
});

test('unknown matmul-check variants are named before any GPU work', () => {
  assert.equal(unknownMatmulVariants(['auto', 'tfjs']), null);
  const why = unknownMatmulVariants(['auto', 'no-such-variant']);
  assert.ok(why && why.includes('no-such-variant'), String(why));
});
