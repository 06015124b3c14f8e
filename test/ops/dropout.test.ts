// The hash-based dropout masks of lib/ops/dropout.ts: deterministic per (seed, stream), independent across them,
// at the right rate; the host computation (maskValues) is the CPU path and the reference the WebGPU shader is
// tested against (test/backend/webgpu/dropout-mask.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { dropout, dropoutMask, lowbias32, maskAttrs, maskKey, maskValues } from '../../lib/ops/dropout';
import { useCpu } from '../helpers/models';

test('lowbias32 matches a BigInt implementation and is a bijection on a sample', () => {
  // The reference multiplies BigInts and masks to 32 bits, independent of Math.imul.
  const ref = (x: number) => {
    let h = BigInt(x);
    const m = 0xffffffffn;
    h ^= h >> 16n;
    h = (h * 0x7feb352dn) & m;
    h ^= h >> 15n;
    h = (h * 0x846ca68bn) & m;
    h ^= h >> 16n;
    return Number(h);
  };
  const seen = new Set<number>();
  for (const x of [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 123456789]) assert.equal(lowbias32(x), ref(x));
  for (let i = 0; i < 5000; i++) seen.add(lowbias32(i * 7919));
  assert.equal(seen.size, 5000);
});

test('masks: same (seed, stream) → same mask; other seeds and streams differ', () => {
  const a = maskValues(maskAttrs([64, 64], 0.1, 42, 0));
  const b = maskValues(maskAttrs([64, 64], 0.1, 42, 0));
  assert.deepEqual(a, b);
  for (const [seed, stream] of [[43, 0], [42, 1], [42 + 2 ** 32, 0]]) {
    const c = maskValues(maskAttrs([64, 64], 0.1, seed, stream));
    let same = 0;
    for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (c[i] === 0)) same++;
    // Independent masks at rate 0.1 agree on 0.9² + 0.1² = 82% of elements; identical ones on 100%.
    assert.ok(same / a.length < 0.86, `seed ${seed} stream ${stream}: ${same} of ${a.length} agree`);
  }
});

test('masks drop the requested fraction and keep the rest at 1/(1 − rate)', () => {
  for (const rate of [0.1, 0.5, 0.9]) {
    const n = 200_000;
    const m = maskValues(maskAttrs([n], rate, 7, 3));
    let dropped = 0;
    for (const v of m) {
      if (v === 0) dropped++;
      else assert.equal(v, Math.fround(1 / (1 - rate)));
    }
    const sd = Math.sqrt(rate * (1 - rate) / n);
    assert.ok(Math.abs(dropped / n - rate) < 5 * sd, `rate ${rate}: dropped ${dropped / n}`);
  }
  // Neighbouring elements are not correlated (the counter is hashed, not stepped).
  const m = maskValues(maskAttrs([100_000], 0.5, 1, 0));
  let bothKept = 0;
  for (let i = 1; i < m.length; i++) if (m[i] !== 0 && m[i - 1] !== 0) bothKept++;
  assert.ok(Math.abs(bothKept / (m.length - 1) - 0.25) < 0.01, `adjacent pairs kept ${bothKept / (m.length - 1)}`);
});

test('dropout: rate 0 is the identity, masks are tensors of the input shape, and the gradient is the mask', async () => {
  await useCpu();
  const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 1);
  assert.equal(dropout(x, 0, 1, 0), x);
  const mask = dropoutMask([3, 4, 5], 0.3, 11, 2);
  assert.deepEqual(mask.shape, [3, 4, 5]);
  assert.deepEqual(Array.from(mask.dataSync()), Array.from(maskValues(maskAttrs([3, 4, 5], 0.3, 11, 2))));
  const [dx] = tf.grads((xx: tf.Tensor) => tf.sum(dropout(xx, 0.3, 11, 2)))([x]);
  assert.deepEqual(Array.from(dx.dataSync()), Array.from(mask.dataSync()));
});

test('bad rates and seeds are refused with the value named', () => {
  assert.throws(() => maskAttrs([2], 1, 0, 0), /dropout rate must be in \[0, 1\), got 1/);
  assert.throws(() => maskAttrs([2], -0.1, 0, 0), /got -0.1/);
  assert.throws(() => maskKey(-1, 0), /non-negative integer, got -1/);
});
