// The head-layout kernels (lib/backend/webgpu/kernels/mla-heads.ts) run on the CPU through the WGSL translator, registered as
// 'cpu' kernels: mlaHeads must give the ops path's q, k, v and gradients, and whole MLA models (with and
// without RoPE) the same loss and parameter gradients with them (and the fused attention) as without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { hasMlaHeadKernels, mlaHeads, mlaHeadsReference, type MlaHeadDims } from '../../../lib/ops/mla-heads';
import { applyRope, ropeTables } from '../../../lib/attention/rope';
import { sliceLast, splitHeads } from '../../../lib/model/layers';
import { MLA_HEAD_KERNELS } from '../../../lib/backend/webgpu/kernels/mla-heads';
import { FLASH_KERNELS } from '../../../lib/backend/webgpu/kernels/flash-attention';
import { withSimulated } from '../../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../../helpers/models';

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** q, k, v (B·H, T, ·) by splitHeads, slices, applyRope, tile and concat: the ops the kernels replace. */
function reference(q2: tf.Tensor3D, kv: tf.Tensor3D, dkv: tf.Tensor3D | undefined, d: MlaHeadDims, rope?: ReturnType<typeof ropeTables>) {
  const [B, T] = q2.shape;
  const H = d.heads;
  const D = d.nope + d.rotary;
  const flat = (x: tf.Tensor, w: number) => tf.reshape(x, [B * H, T, w]) as tf.Tensor3D;
  const qh = splitHeads(q2, H); // (B, H, T, D)
  const kNope = splitHeads(sliceLast(kv, 0, H * d.nope), H); // (B, H, T, N)
  const v = flat(splitHeads(sliceLast(kv, H * d.nope, H * (d.nope + d.valueDim)), H), d.valueDim);
  if (!rope || !dkv) return { q: flat(qh, D), k: flat(kNope, d.nope), v };
  const qRope = applyRope(sliceLast(qh, d.nope, D), rope, 0);
  const kRope = applyRope(tf.reshape(sliceLast(dkv, d.latent, d.latent + d.rotary), [B, 1, T, d.rotary]), rope, 0); // (B, 1, T, R)
  const q = flat(tf.concat([sliceLast(qh, 0, d.nope), qRope], -1), D);
  const k = flat(tf.concat([kNope, tf.tile(kRope, [1, H, 1, 1])], -1), D);
  return { q, k, v };
}

for (const rotary of [4, 0]) {
  test(`mlaHeads (RoPE dims ${rotary}): q, k, v and the gradients of q2, kv, dkv equal the ops path`, async () => {
    await useCpu();
    const d: MlaHeadDims = { heads: 3, nope: 6, rotary, valueDim: 5, latent: 7 };
    const [B, T] = [2, 5];
    const rope = rotary ? ropeTables(rotary, d.nope + rotary, 10000, 16) : undefined;
    const q2 = rand([B, T, d.heads * (d.nope + rotary)], 1) as tf.Tensor3D;
    const kv = rand([B, T, d.heads * (d.nope + d.valueDim)], 2) as tf.Tensor3D;
    const dkv = rand([B, T, d.latent + rotary], 3) as tf.Tensor3D;
    const wq = rand([B * d.heads, T, d.nope + rotary], 4);
    const wk = rand([B * d.heads, T, d.nope + rotary], 5);
    const wv = rand([B * d.heads, T, d.valueDim], 6);
    const run = (f: typeof reference) => {
      const loss = (a: tf.Tensor, b: tf.Tensor, c?: tf.Tensor) => {
        const h = f(a as tf.Tensor3D, b as tf.Tensor3D, (c ?? dkv) as tf.Tensor3D, d, rope);
        return tf.addN([tf.sum(tf.mul(h.q, wq)), tf.sum(tf.mul(h.k, wk)), tf.sum(tf.mul(h.v, wv))]) as tf.Scalar;
      };
      const h = f(q2, kv, dkv, d, rope);
      return [h.q, h.k, h.v, ...tf.grads(loss)(rotary ? [q2, kv, dkv] : [q2, kv])]; // without RoPE dkv is not read
    };
    const want = run(reference);
    const got = withSimulated(MLA_HEAD_KERNELS, () => {
      assert.ok(hasMlaHeadKernels());
      return run(mlaHeads);
    });
    assert.ok(!hasMlaHeadKernels(), 'unregistered again');
    // The op's own reference composition (lib/ops/mla-heads.ts) must be this test's too.
    const ref = run(mlaHeadsReference);
    for (const [what, out] of [['kernels', got], ['mlaHeadsReference', ref]] as const) {
      assert.equal(out.length, want.length, what);
      ['q', 'k', 'v', 'dq2', 'dkv', 'ddkv'].slice(0, want.length).forEach((name, i) => {
        assert.deepEqual(out[i].shape, want[i].shape, `${what} ${name}`);
        const diff = maxAbsDiff(out[i], want[i]);
        assert.ok(diff < 1e-5, `${what} ${name}: max |Δ| ${diff}`);
      });
    }
  });
}

test('mlaHeads refuses RoPE dims without tables', () => {
  const x = tf.zeros([1, 2, 8]) as tf.Tensor3D;
  assert.throws(() => mlaHeads(x, x, undefined, { heads: 1, nope: 4, rotary: 4, valueDim: 4, latent: 4 }), /RoPE dims without RoPE tables/);
  x.dispose();
});

for (const [preset, extra] of [['tiny-mla-rope', {}], ['tiny-mla-norope', {}], ['tiny-mla-rope', { ropeDim: 16 }]] as const) {
  // ropeDim 16 of 16: no no-RoPE key columns (the key kernel's N = 0, its gradient's merge of width 0).
  test(`${preset} ${JSON.stringify(extra)}: loss and every parameter's gradient are the same through the head-layout kernels`, async () => {
    await useCpu();
    const model = sharpModel(preset, extra);
    const lossAndGrads = lossAndGradsOf(model, 2, 11);
    assertSameLossAndGrads(withSimulated([...FLASH_KERNELS, ...MLA_HEAD_KERNELS], lossAndGrads), lossAndGrads());
    model.dispose();
  });
}
