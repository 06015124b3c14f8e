// The rotary-embedding shader (lib/backend/webgpu/kernels/rope.ts) run on the CPU through the WGSL translator and
// registered as a 'cpu' kernel: applyRope then takes it, and its value and gradient must equal the ops path,
// alone and in whole models with every fused kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { applyRope, ropeTables } from '../../../lib/attention/rope';
import { ROPE_KERNEL, type RopeAttrs } from '../../../lib/ops/rope';
import { ROPE_WGSL, ropeUniforms } from '../../../lib/backend/webgpu/kernels/rope';
import { FLASH_KERNELS } from '../../../lib/backend/webgpu/kernels/flash-attention';
import { LAYER_NORM_KERNELS } from '../../../lib/backend/webgpu/kernels/layer-norm';
import { withFlatWgslKernel, withSimulated } from '../../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../../helpers/models';

/** The shader on 'cpu' for the duration of f. */
const withRopeKernel = <T>(f: () => T): T =>
  withFlatWgslKernel(ROPE_KERNEL, ROPE_WGSL, ['X', 'COS', 'SIN'], (shape, attrs) => ropeUniforms(shape, attrs as unknown as RopeAttrs), f);

for (const [shape, start] of [[[2, 3, 5, 8], 0], [[1, 1, 7, 4], 3], [[2, 4, 6, 16], 10]] as const) {
  test(`rope kernel ${JSON.stringify(shape)} from position ${start}: value and gradient equal the ops path`, async () => {
    await useCpu();
    const r = shape[3];
    const tables = ropeTables(r, 2 * r, 10000, 32);
    const x = tf.randomNormal([...shape], 0, 1, 'float32', 1);
    const w = tf.randomNormal([...shape], 0, 1, 'float32', 2);
    const run = () => [applyRope(x, tables, start), tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(applyRope(xx, tables, start), w)))(x)];
    const want = run();
    const got = withRopeKernel(run);
    for (const [i, name] of ['y', 'dx'].entries()) {
      const diff = maxAbsDiff(got[i], want[i]);
      assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
    }
  });
}

test('tiny-mla-rope on every fused kernel (attention, LayerNorm, rope): loss and gradients equal the ops path', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const lossAndGrads = lossAndGradsOf(model, 2, 9);
  assertSameLossAndGrads(withRopeKernel(() => withSimulated([...LAYER_NORM_KERNELS, ...FLASH_KERNELS], lossAndGrads)), lossAndGrads());
  model.dispose();
});
