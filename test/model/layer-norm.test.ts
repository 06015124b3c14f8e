// The hand-written LayerNorm gradient against tfjs's autodiff of the textbook formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // registers the gradients of the reference's ops
import { layerNorm } from '../../lib/model/layers';
import { useCpu } from '../helpers/models';

/** LayerNorm as tf.moments writes it, differentiated by tfjs itself. */
function textbookLayerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  const s = tf.max(tf.abs(b)).dataSync()[0];
  return d / Math.max(s, 1e-12);
}

for (const shape of [[3, 5, 16], [7, 33], [2, 2, 3, 8]]) {
  test(`layerNorm ${JSON.stringify(shape)}: value and gradients equal autodiff of the textbook formula`, async () => {
    await useCpu();
    const C = shape[shape.length - 1];
    // An offset and uneven scales per row, so mean and variance both matter.
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), tf.randomUniform([...shape.slice(0, -1), 1], 0.2, 3, 'float32', 2)), 1.5);
    const g = tf.randomNormal([C], 1, 0.5, 'float32', 3);
    const b = tf.randomNormal([C], 0, 0.5, 'float32', 4);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 5); // loss = Σ w · LN(x): a non-uniform upstream gradient
    const ours = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNorm(xx, gg as tf.Tensor1D, bb as tf.Tensor1D), w)));
    const ref = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(textbookLayerNorm(xx, gg, bb), w)));
    assert.ok(maxRelDiff(layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D), textbookLayerNorm(x, g, b)) < 1e-5);
    const a = ours([x, g, b]);
    const r = ref([x, g, b]);
    ['x', 'gamma', 'beta'].forEach((name, i) => {
      assert.deepEqual(a[i].shape, r[i].shape, name);
      const rel = maxRelDiff(a[i], r[i]);
      assert.ok(rel < 1e-4, `d${name}: max relative difference ${rel}`);
    });
  });
}

test('layerNorm gradient: dx sums to zero over each row (shifting a row leaves LN unchanged)', async () => {
  await useCpu();
  const x = tf.randomNormal([4, 12], 0, 2, 'float32', 9);
  const [dx] = tf.grads((xx: tf.Tensor) => tf.sum(tf.square(layerNorm(xx, tf.ones([12]) as tf.Tensor1D, tf.zeros([12]) as tf.Tensor1D))))([x]);
  const rowSums = tf.sum(dx, -1).dataSync();
  for (const s of rowSums) assert.ok(Math.abs(s) < 1e-4, `row sum ${s}`);
});
