// linear (lib/model/layers.ts): outside a gradient tape the bias and relu run in the matmul's epilogue
// (_FusedMatMul); under a tape they stay the separate ops training always ran, so its trajectory is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '../../lib/model/layers';
import { useCpu } from '../helpers/models';

const kernelsOf = async (f: () => tf.TensorContainer) => (await tf.profile(f)).kernelNames;

test('linear: fused outside a tape, equal to matmul + bias + relu; under a tape the unfused ops and the same gradients', async () => {
  await useCpu();
  const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1) as tf.Tensor3D; // (B, T, C)
  const w = tf.randomNormal([8, 5], 0, 1, 'float32', 2) as tf.Tensor2D; // (C, N)
  const b = tf.randomNormal([5], 0, 1, 'float32', 3) as tf.Tensor1D;
  const reference = (xx: tf.Tensor3D, ww: tf.Tensor2D, bb: tf.Tensor1D) => tf.relu(tf.add(tf.reshape(tf.matMul(tf.reshape(xx, [6, 8]), ww), [2, 3, 5]), bb));

  const fused = linear(x, w, b, 'relu');
  assert.deepEqual(fused.shape, [2, 3, 5]);
  const want = reference(x, w, b);
  const diff = tf.max(tf.abs(tf.sub(fused, want))).dataSync()[0];
  assert.ok(diff < 1e-5, `max |fused − reference| = ${diff}`);
  assert.ok(tf.min(fused).dataSync()[0] >= 0, 'relu applied');
  assert.ok((await kernelsOf(() => linear(x, w, b, 'relu'))).includes('_FusedMatMul'));
  const plain = await kernelsOf(() => linear(x, w, b));
  assert.ok(plain.includes('_FusedMatMul') && !plain.includes('Add'), `bias alone fuses too: ${plain}`);
  assert.deepEqual((await kernelsOf(() => linear(x, w))).filter((k) => k !== 'Reshape'), ['BatchMatMul'], 'no bias, no activation: a plain matmul');

  // Under a tape: the ops training ran before, and gradients equal the reference's.
  let taped: string[] = [];
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
    const y = linear(xx as tf.Tensor3D, ww as tf.Tensor2D, bb as tf.Tensor1D, 'relu');
    return tf.sum(tf.mul(y, y));
  });
  const profile = await tf.profile(() => grads([x, w, b]));
  taped = profile.kernelNames;
  assert.ok(!taped.includes('_FusedMatMul'), `under a tape: ${taped}`);
  assert.ok(taped.includes('BatchMatMul') && taped.includes('Add') && taped.includes('Relu'));
  const got = grads([x, w, b]);
  const ref = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
    const y = reference(xx as tf.Tensor3D, ww as tf.Tensor2D, bb as tf.Tensor1D);
    return tf.sum(tf.mul(y, y));
  })([x, w, b]);
  for (let i = 0; i < 3; i++) assert.deepEqual(Array.from(got[i].dataSync()), Array.from(ref[i].dataSync()), `gradient ${i} bit for bit`);
});
