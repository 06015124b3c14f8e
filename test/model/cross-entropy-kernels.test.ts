// The cross-entropy shaders (lib/backend/cross-entropy.ts) run on the CPU through the WGSL translator and
// registered as 'cpu' kernels: crossEntropyRows then takes them, and its value and gradient must equal the
// ops path; a whole model's loss and gradients must too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropyRows } from '../../lib/model/fast-grads';
import { CROSS_ENTROPY_KERNELS } from '../../lib/backend/cross-entropy';
import { withSimulated } from '../helpers/simulated-kernels';
import { assertSameLossAndGrads, lossAndGradsOf, maxAbsDiff, sharpModel, useCpu } from '../helpers/models';

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
