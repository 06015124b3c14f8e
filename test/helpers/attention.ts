// Attention test helpers shared by the op tests (test/attention) and the shader tests (test/backend/webgpu).
import * as tf from '@tensorflow/tfjs-core';
import { unfusedCausalAttention } from '../../lib/attention/core';

export const rand = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed);

/** Values and gradients (against a random upstream gradient) of an attention function of q, k, v. */
export function valueAndGrads(f: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, seed: number) {
  const y = f(q, k, v);
  const dy = rand(y.shape, seed);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), dy)))([q, k, v]);
  return [y, ...grads];
}

/** The unfused core on (BH, T, d) tensors: one batch of BH heads. */
export const unfused3 = (scale: number) => (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
  unfusedCausalAttention([{ q: tf.expandDims(q, 0) as tf.Tensor4D, k: tf.expandDims(k, 0) as tf.Tensor4D }], tf.expandDims(v, 0) as tf.Tensor4D, { qStart: 0, scale }).squeeze([0]);
