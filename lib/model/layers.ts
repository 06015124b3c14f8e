// Building blocks shared by attention and the model. Shape legend: B batch, T time, C model dim, N out dim.
import * as tf from '@tensorflow/tfjs-core';
import { LAYER_NORM_DX_KERNEL, LAYER_NORM_KERNEL, LAYER_NORM_SUMS_KERNEL } from '../backend/layer-norm-kernels';
import { LN_MAX_WIDTH } from '../backend/layer-norm-wgsl';

/** x (B, T, C) · w (C, N) → (B, T, N), through one 2-D matmul so the BLAS kernel sees one large GEMM. */
export function linear(x: tf.Tensor3D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const x2 = tf.reshape(x, [B * T, C]); // (B·T, C)
  const y2 = bias ? tf.add(tf.matMul(x2, w), bias) : tf.matMul(x2, w); // (B·T, N)
  return tf.reshape(y2, [B, T, w.shape[1]]); // (B, T, N)
}

/**
 * LayerNorm over the last axis with PyTorch's eps, and its gradient written out. tfjs would differentiate
 * tf.moments through Mean and Sum, whose gradients build tf.ones(x.shape) on the host and upload it: two
 * (B·T, C) arrays per LayerNorm per step, which on WebGPU cost more than the rest of the backward pass.
 * With x̂ = (x − μ)·r, r = 1/√(σ² + eps), g = dy·γ (C the last axis, means over it):
 *   dx = r · (g − mean(g) − x̂ · mean(g · x̂)),  dγ = Σ_rows dy · x̂,  dβ = Σ_rows dy.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  if (tf.getKernel(LAYER_NORM_KERNEL, tf.getBackend()) && x.shape[x.shape.length - 1] <= LN_MAX_WIDTH) return layerNormKernels(x, gamma, beta, eps);
  const f = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xIn, -1, true); // (..., 1) each
    const r = tf.rsqrt(tf.add(variance, eps)); // (..., 1)
    const xHat = tf.mul(tf.sub(xIn, mean), r); // (..., C)
    save([xHat, r, g]);
    return {
      value: tf.add(tf.mul(xHat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gs] = saved;
        const rowAxes = dy.shape.slice(0, -1).map((_, i) => i); // every axis but the last
        const gy = tf.mul(dy, gs); // (..., C)
        const centred = tf.sub(gy, tf.mean(gy, -1, true));
        const dx = tf.mul(rs, tf.sub(centred, tf.mul(xh, tf.mean(tf.mul(gy, xh), -1, true))));
        return [dx, tf.sum(tf.mul(dy, xh), rowAxes), tf.sum(dy, rowAxes)];
      },
    };
  }) as never);
  return f(x, gamma, beta) as tf.Tensor;
}

/**
 * layerNorm on the backend's LayerNorm kernels (lib/backend/layer-norm-kernels.ts, WebGPU): 1 kernel forward,
 * 5 backward (dx; per-chunk column sums, their sum, and the two rows split off) instead of ~21 in all.
 */
function layerNormKernels(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const C = x.shape[x.shape.length - 1];
  const attrs = { eps } as unknown as tf.NamedAttrMap;
  const f = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, g]);
    const y = tf.engine().runKernel(LAYER_NORM_KERNEL, { x: xIn, gamma: g, beta: b }, attrs) as tf.Tensor; // (1, 1, N·C)
    return {
      value: tf.reshape(y, xIn.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs] = saved;
        const dx = tf.engine().runKernel(LAYER_NORM_DX_KERNEL, { x: xs, gamma: gs, dy }, attrs) as tf.Tensor; // (1, 1, N·C)
        const partial = tf.engine().runKernel(LAYER_NORM_SUMS_KERNEL, { x: xs, dy }, attrs) as tf.Tensor; // (1, 1, chunks·2·C)
        const sums = tf.sum(tf.reshape(partial, [-1, 2, C]), 0); // (2, C): Σ dy·x̂, Σ dy
        const [dGamma, dBeta] = tf.unstack(sums); // (C,), (C,)
        return [tf.reshape(dx, xs.shape), dGamma, dBeta];
      },
    };
  }) as never);
  return f(x, gamma, beta) as tf.Tensor;
}

/** Columns [from, to) of the last axis. */
export function sliceLast<T extends tf.Tensor>(x: T, from: number, to: number): T {
  const begin = x.shape.map(() => 0);
  const size = x.shape.map((d) => d);
  begin[begin.length - 1] = from;
  size[size.length - 1] = to - from;
  return tf.slice(x, begin, size) as T;
}

/** (B, T, H·D) → (B, H, T, D): split the last axis into heads. */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [B, T, HD] = x.shape;
  const d = HD / heads;
  return tf.transpose(tf.reshape(x, [B, T, heads, d]), [0, 2, 1, 3]); // (B, H, T, D)
}

/** (B, H, T, D) → (B, T, H·D): the inverse of splitHeads. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, D] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * D]); // (B, T, H·D)
}

/**
 * tf.tidy for results that hold tensors inside plain objects (caches, decode states): tidy keeps every tensor
 * reachable from the returned value; its TensorContainer type just cannot describe readonly records.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
