// Building blocks shared by attention and the model. Shape legend: B batch, T time, C model dim, N out dim.
import * as tf from '@tensorflow/tfjs-core';

/**
 * x (B, T, C) · w (C, N) (+ bias, then relu if asked) → (B, T, N), through one 2-D matmul so the BLAS kernel sees
 * one large GEMM. Outside a gradient tape (decoding, evaluation) the bias and the activation ride in the matmul's
 * epilogue (tf.fused.matMul: one kernel, not three, which on WebGPU is two dispatches fewer per MLP); under a tape
 * they stay separate ops, so training computes exactly what it did.
 */
export function linear(x: tf.Tensor3D, w: tf.Tensor2D, bias?: tf.Tensor1D, activation?: 'relu'): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const x2 = tf.reshape(x, [B * T, C]); // (B·T, C)
  let y2: tf.Tensor2D; // (B·T, N)
  if ((bias || activation) && !recordingGradients()) {
    y2 = tf.fused.matMul({ a: x2, b: w, bias, activation: activation ?? 'linear' }) as tf.Tensor2D;
  } else {
    y2 = bias ? tf.add(tf.matMul(x2, w), bias) : tf.matMul(x2, w);
    if (activation) y2 = tf.relu(y2);
  }
  return tf.reshape(y2, [B, T, w.shape[1]]); // (B, T, N)
}

/** Whether a gradient tape is recording (tf.grad / variableGrads are running the ops). */
function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

// LayerNorm (its kernels and the reference with its gradient written out) is the op of lib/ops/layer-norm.ts.
export { layerNorm } from '../ops/layer-norm';

/** Columns [from, to) of the last axis. */
export function sliceLast<T extends tf.Tensor>(x: T, from: number, to: number): T {
  const begin = x.shape.map(() => 0);
  const size = x.shape.map((d) => d);
  begin[begin.length - 1] = from;
  size[size.length - 1] = to - from;
  return tf.slice(x, begin, size) as T;
}

/**
 * (B, T, H·D) → (B, H, T, D): split the last axis into heads. With one token (a decode step) the two layouts
 * are the same in memory, so a reshape does it: the transpose would be a dispatch per call on WebGPU.
 */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [B, T, HD] = x.shape;
  const d = HD / heads;
  if (T === 1) return tf.reshape(x, [B, heads, 1, d]); // (B, 1, H·D) → (B, H, 1, D)
  return tf.transpose(tf.reshape(x, [B, T, heads, d]), [0, 2, 1, 3]); // (B, H, T, D)
}

/** (B, H, T, D) → (B, T, H·D): the inverse of splitHeads (a reshape alone for one token). */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, D] = x.shape;
  if (T === 1) return tf.reshape(x, [B, 1, H * D]); // (B, H, 1, D) → (B, 1, H·D)
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * D]); // (B, T, H·D)
}

/**
 * tf.tidy for results that hold tensors inside plain objects (caches, decode states): tidy keeps every tensor
 * reachable from the returned value; its TensorContainer type just cannot describe readonly records.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
