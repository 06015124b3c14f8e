// The cross-entropy shaders (lib/backend/webgpu/kernels/cross-entropy.ts) run on the CPU through the WGSL translator and
// registered as 'cpu' kernels: crossEntropyRows then takes them, and its value and gradient must equal the
// ops path; a whole model's loss and gradients must too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { EXACT_FLAT_INDEX, crossEntropyOps, crossEntropyRows } from '../../../lib/model/fast-grads';
import { CROSS_ENTROPY_KERNELS } from '../../../lib/backend/webgpu/kernels/cross-entropy';
import { withSimulated } from '../../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../../helpers/models';

for (const [N, V] of [[5, 7], [3, 300], [2, 1000]]) {
  test(`cross-entropy kernels, ${N} rows of ${V}: losses and the logits' gradient equal the ops path`, async () => {
    await useCpu();
    const logits = tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', N + V), 4) as tf.Tensor2D; // peaked rows
    const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7919 + 3) % V), 'int32');
    const w = tf.randomNormal([N], 0, 1, 'float32', 9);
    const run = () => [crossEntropyRows(logits, targets), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(crossEntropyRows(x as tf.Tensor2D, targets), w)))(logits)];
    const want = run();
    const got = withSimulated(CROSS_ENTROPY_KERNELS, run);
    for (const [i, name] of ['loss', 'dlogits'].entries()) {
      assert.deepEqual(got[i].shape, want[i].shape, name);
      const diff = maxAbsDiff(got[i], want[i]);
      assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
    }
    tf.dispose([logits, targets, w, ...want, ...got]);
  });
}

test('tiny-mla-rope: loss and every gradient are the same with the cross-entropy kernels', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const lossAndGrads = lossAndGradsOf(model, 2, 11);
  assertSameLossAndGrads(withSimulated(CROSS_ENTROPY_KERNELS, lossAndGrads), lossAndGrads());
  model.dispose();
});

test('the ops path past the exact flat-index range (per-row gather, one-hot gradient) equals the flat one', async () => {
  await useCpu();
  const logits = tf.mul(tf.randomNormal([6, 50], 0, 1, 'float32', 3), 3) as tf.Tensor2D;
  const targets = tf.tensor1d([0, 49, 7, 7, 13, 25], 'int32');
  const w = tf.randomNormal([6], 0, 1, 'float32', 4);
  const run = (limit: number) => [
    crossEntropyOps(logits, targets, limit),
    tf.grad((x: tf.Tensor) => tf.sum(tf.mul(crossEntropyOps(x as tf.Tensor2D, targets, limit), w)))(logits),
  ];
  const flat = run(EXACT_FLAT_INDEX);
  const perRow = run(0);
  for (const i of [0, 1]) assert.ok(maxAbsDiff(perRow[i], flat[i]) < 1e-6, `${['loss', 'dlogits'][i]}: ${maxAbsDiff(perRow[i], flat[i])}`);
  // The limit is where f32 (tfjs-backend-webgpu's reading of int32 indices) stops holding every integer.
  assert.equal(Math.fround(EXACT_FLAT_INDEX), EXACT_FLAT_INDEX);
  assert.notEqual(Math.fround(EXACT_FLAT_INDEX + 1), EXACT_FLAT_INDEX + 1);
  tf.dispose([logits, targets, w, ...flat, ...perRow]);
});
