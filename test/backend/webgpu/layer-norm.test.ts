// The LayerNorm shaders (lib/backend/webgpu/kernels/layer-norm-wgsl.ts) executed on the CPU through the WGSL translator and
// registered as 'cpu' kernels (test/helpers/simulated-kernels.ts): layerNorm then takes them, and its value
// and gradients must equal the tfjs-ops path, alone and inside whole models. The WGSL compiling and running
// on a GPU is checked by `mla bench coverage` (lib/bench/coverage.ts: webgpu against cpu, every attention kind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { layerNorm } from '../../../lib/model/layers';
import { LAYER_NORM_KERNELS } from '../../../lib/backend/webgpu/kernels/layer-norm';
import { LN_MAX_WIDTH, layerNormDispatch, layerNormPlan } from '../../../lib/backend/webgpu/kernels/layer-norm-wgsl';
import { FLASH_KERNELS } from '../../../lib/backend/webgpu/kernels/flash-attention';
import { withSimulated } from '../../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../../helpers/models';

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return maxAbsDiff(a, b) / Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12);
}

// Widths below, at and above one value per thread (64), ragged tails (130, 341: MLA's kv latent), and row
// counts that leave the last column-sum chunk short.
for (const shape of [[3, 5, 16], [37, 64], [2, 9, 130], [6, 341], [301, 8]]) {
  test(`layerNorm kernels ${JSON.stringify(shape)}: value, dx, dγ and dβ equal the tfjs-ops path`, async () => {
    await useCpu();
    const C = shape[shape.length - 1];
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), tf.randomUniform([...shape.slice(0, -1), 1], 0.2, 3, 'float32', 2)), 1.5);
    const g = tf.randomNormal([C], 1, 0.5, 'float32', 3);
    const b = tf.randomNormal([C], 0, 0.5, 'float32', 4);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 5); // a non-uniform upstream gradient
    const run = () => {
      const y = layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D);
      const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNorm(xx, gg as tf.Tensor1D, bb as tf.Tensor1D), w)))([x, g, b]);
      return [y, ...grads];
    };
    const want = run();
    const got = withSimulated(LAYER_NORM_KERNELS, run);
    ['y', 'dx', 'dγ', 'dβ'].forEach((name, i) => {
      assert.deepEqual(got[i].shape, want[i].shape, name);
      const rel = maxRelDiff(got[i], want[i]);
      assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
    });
  });
}

test('layerNorm kernel plans: chunks cover every row, dispatches fold above 32768 workgroups, widths are bounded', () => {
  for (const rows of [1, 255, 256, 257, 8192, 100000]) {
    const p = layerNormPlan(rows, 512);
    assert.ok(p.chunks * p.rowsPerChunk >= rows && (p.chunks - 1) * p.rowsPerChunk < rows, `rows ${rows}`);
    assert.ok(p.chunks <= 256);
    const [x, y] = layerNormDispatch(rows);
    assert.ok(x * y >= rows && x <= 32768);
  }
  assert.throws(() => layerNormPlan(8, LN_MAX_WIDTH + 1), /width 4097/);
});

for (const preset of ['tiny-mla-rope', 'tiny-mha-rope']) {
  test(`${preset}: loss and every gradient are the same on the LayerNorm and fused attention kernels`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const lossAndGrads = lossAndGradsOf(model, 2, 9);
    assertSameLossAndGrads(withSimulated([...LAYER_NORM_KERNELS, ...FLASH_KERNELS], lossAndGrads), lossAndGrads());
    model.dispose();
  });
}
