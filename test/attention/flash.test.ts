// The fused causal attention as the model uses it: the WGSL shaders (tested on their own in
// test/backend/webgpu/flash-attention.test.ts) registered as simulated 'cpu' kernels (test/helpers/
// simulated-kernels.ts) drive the real op (lib/attention/flash.ts) and whole models, which must match the unfused
// core in values and gradients; and the op declines what it cannot take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { causalAttention, unfusedCausalAttention, type ScoreTerm } from '../../lib/attention/core';
import { flashApplies } from '../../lib/attention/flash';
import { flashAttentionReference, flashUnsupported } from '../../lib/ops/flash-attention';
import { FLASH_KERNELS } from '../../lib/backend/webgpu/kernels/flash-attention';
import { registerSimulated, withSimulated } from '../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../helpers/models';
import { rand, unfused3, valueAndGrads } from '../helpers/attention';

test('causalAttention takes the fused kernels where registered: split score terms, a shared key and value, grouped heads', async () => {
  await useCpu();
  const B = 2, Hk = 2, G = 2, T = 9, N = 8, R = 4, Dv = 8;
  // MLA with RoPE: a per-head no-RoPE term and a RoPE key shared by all heads; GQA: two query heads per KV head.
  const qn = rand([B, Hk, G * T, N], 1), kn = rand([B, Hk, T, N], 2), qr = rand([B, Hk, G * T, R], 3), kr = rand([B, 1, T, R], 4);
  const opts = { qStart: 0, scale: 0.3, groups: G };
  for (const v of [rand([B, Hk, T, Dv], 5), rand([B, 1, T, Dv], 6)]) {
    const terms: ScoreTerm[] = [{ q: qn as tf.Tensor4D, k: kn as tf.Tensor4D }, { q: qr as tf.Tensor4D, k: kr as tf.Tensor4D }];
    const f = (attend: typeof causalAttention) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      attend([{ q: a as tf.Tensor4D, k: b as tf.Tensor4D }, terms[1]], c as tf.Tensor4D, opts);
    const want = valueAndGrads(f(unfusedCausalAttention), qn, kn, v, 7);
    const got = withSimulated(FLASH_KERNELS, () => {
      assert.ok(flashApplies(terms, v as tf.Tensor4D, opts), 'the fused path takes this call');
      return valueAndGrads(f(causalAttention), qn, kn, v, 7);
    });
    ['O', 'dQ', 'dK', 'dV'].forEach((name, i) => {
      const diff = maxAbsDiff(got[i], want[i]);
      assert.ok(diff < 2e-5, `v heads ${v.shape[1]}, ${name}: max |Δ| ${diff}`);
    });
  }
});

test("the op's reference composition (lib/ops/flash-attention.ts) equals the unfused core, values and gradients", async () => {
  await useCpu();
  const [BH, T, D, Dv] = [3, 9, 8, 12];
  const scale = 1 / Math.sqrt(D);
  const q = rand([BH, T, D], 1), k = rand([BH, T, D], 2), v = rand([BH, T, Dv], 3);
  const want = valueAndGrads(unfused3(scale), q, k, v, 4);
  const got = valueAndGrads((a, b, c) => flashAttentionReference(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, scale), q, k, v, 4);
  ['o', 'dq', 'dk', 'dv'].forEach((name, i) => {
    assert.deepEqual(got[i].shape, want[i].shape, name);
    assert.ok(maxAbsDiff(got[i], want[i]) < 1e-5, `${name}: max |Δ| ${maxAbsDiff(got[i], want[i])}`);
  });
});

test('the fused path declines what it cannot take: decoding offsets, unequal lengths, head dims off the vec4 grid', async () => {
  await useCpu();
  const unregister = registerSimulated(FLASH_KERNELS);
  try {
    const q = rand([1, 2, 5, 8], 1) as tf.Tensor4D, k = rand([1, 2, 5, 8], 2) as tf.Tensor4D, v = rand([1, 2, 5, 8], 3) as tf.Tensor4D;
    assert.ok(flashApplies([{ q, k }], v, { qStart: 0, scale: 1 }));
    assert.ok(!flashApplies([{ q, k }], v, { qStart: 3, scale: 1 }), 'qStart > 0 (a cached decode step)');
    const q1 = tf.slice(q, [0, 0, 4, 0], [1, 2, 1, 8]) as tf.Tensor4D;
    assert.ok(!flashApplies([{ q: q1, k }], v, { qStart: 0, scale: 1 }), 'one query against five keys');
    const v6 = rand([1, 2, 5, 6], 4) as tf.Tensor4D;
    assert.ok(!flashApplies([{ q, k }], v6, { qStart: 0, scale: 1 }), 'Dv = 6');
  } finally {
    unregister();
  }
  assert.ok(!flashApplies([{ q: rand([1, 1, 4, 8], 1) as tf.Tensor4D, k: rand([1, 1, 4, 8], 2) as tf.Tensor4D }], rand([1, 1, 4, 8], 3) as tf.Tensor4D, { qStart: 0, scale: 1 }), 'no kernels on this backend');
  assert.equal(flashUnsupported({ D: 32, Dv: 32 }), null);
  assert.match(flashUnsupported({ D: 341, Dv: 32 }) ?? '', /D = 341/);
  assert.match(flashUnsupported({ D: 32, Dv: 128 }) ?? '', /Dv = 128/);
});

for (const [preset, overrides] of [
  ['tiny-mla-rope', {}],
  ['tiny-mla-norope', {}],
  ['tiny-gqa-rope', { nKvHeads: 2 }],
  ['tiny-mha-decoupled-rope', {}],
] as const) {
  test(`${preset}: loss and every parameter's gradient are the same with the fused kernels`, async () => {
    await useCpu();
    const model = sharpModel(preset, overrides);
    const lossAndGrads = lossAndGradsOf(model, 2, 11);
    assertSameLossAndGrads(withSimulated(FLASH_KERNELS, lossAndGrads), lossAndGrads());
    model.dispose();
  });
}
