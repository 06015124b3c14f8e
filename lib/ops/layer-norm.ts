// LayerNorm over the last axis (PyTorch's eps): the op, its reference composition with its gradient written
// out, and the three kernels a backend may register for it (lib/backend/webgpu/kernels/layer-norm.ts on WebGPU).
// Shape legend: N rows, C the normalised (last) axis.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Inputs x (…, C), gamma, beta (C,); attrs eps; output y, flat (1, 1, N·C). */
export const LAYER_NORM_KERNEL = 'MlaLayerNorm';
/** Inputs x, gamma, dy; attrs eps; output dx, flat (1, 1, N·C). */
export const LAYER_NORM_DX_KERNEL = 'MlaLayerNormDx';
/** Inputs x, dy; attrs eps; output per row chunk Σ dy·x̂ and Σ dy, flat (1, 1, chunks·2·C). */
export const LAYER_NORM_SUMS_KERNEL = 'MlaLayerNormColumnSums';
/** Widest row (C) the kernels take: they keep a row in registers, C / 64 values per thread. */
export const LAYER_NORM_MAX_WIDTH = 4096;

export interface LayerNormAttrs {
  eps: number;
}

/** Whether the active backend's LayerNorm kernels take rows of this width. */
export function hasLayerNormKernel(width: number): boolean {
  return hasKernel(LAYER_NORM_KERNEL) && width <= LAYER_NORM_MAX_WIDTH;
}

/** LayerNorm of x over its last axis: the backend's kernels where it has them, else the reference. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  if (hasLayerNormKernel(x.shape[x.shape.length - 1])) return layerNormKernels(x, gamma, beta, eps);
  return layerNormReference(x, gamma, beta, eps);
}

/**
 * LayerNorm with tfjs ops and its gradient written out. tfjs would differentiate tf.moments through Mean and
 * Sum, whose gradients build tf.ones(x.shape) on the host and upload it: two (B·T, C) arrays per LayerNorm per
 * step, which on WebGPU cost more than the rest of the backward pass.
 * With x̂ = (x − μ)·r, r = 1/√(σ² + eps), g = dy·γ (C the last axis, means over it):
 *   dx = r · (g − mean(g) − x̂ · mean(g · x̂)),  dγ = Σ_rows dy · x̂,  dβ = Σ_rows dy.
 */
export function layerNormReference(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
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
 * layerNorm on the backend's kernels: 1 kernel forward, 5 backward (dx; per-chunk column sums, their sum,
 * and the two rows split off) instead of ~21 in all.
 */
function layerNormKernels(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const C = x.shape[x.shape.length - 1];
  const attrs: LayerNormAttrs = { eps };
  const run = (name: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const f = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, g]);
    const y = run(LAYER_NORM_KERNEL, { x: xIn, gamma: g, beta: b }); // (1, 1, N·C)
    return {
      value: tf.reshape(y, xIn.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs] = saved;
        const dx = run(LAYER_NORM_DX_KERNEL, { x: xs, gamma: gs, dy }); // (1, 1, N·C)
        const partial = run(LAYER_NORM_SUMS_KERNEL, { x: xs, dy }); // (1, 1, chunks·2·C)
        const sums = tf.sum(tf.reshape(partial, [-1, 2, C]), 0); // (2, C): Σ dy·x̂, Σ dy
        const [dGamma, dBeta] = tf.unstack(sums); // (C,), (C,)
        return [tf.reshape(dx, xs.shape), dGamma, dBeta];
      },
    };
  }) as never);
  return f(x, gamma, beta) as tf.Tensor;
}
