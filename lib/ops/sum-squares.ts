// Σ x² of each of a list of tensors (the gradient's global norm, lib/train/grads.ts): the op, its kernel names,
// and its reference. With ops it is two kernels per tensor (Square, Sum), 342 of a 35M step's dispatches; a
// backend's kernel (lib/backend/webgpu/kernels/sum-squares.ts) takes up to SUM_SQUARES_MAX_INPUTS tensors in one
// dispatch and returns partial sums.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** WebGPU's default 8 storage buffers per shader stage, one of which is the output. */
export const SUM_SQUARES_MAX_INPUTS = 7;

/** The kernel taking n inputs x0 … x(n−1) (1 ≤ n ≤ SUM_SQUARES_MAX_INPUTS); output partial sums, flat. */
export const sumSquaresKernelName = (n: number) => `MlaSumSquares${n}`;

export function hasSumSquaresKernel(): boolean {
  return hasKernel(sumSquaresKernelName(1));
}

/**
 * Scalars whose sum is Σ x² over all the tensors: one per group of SUM_SQUARES_MAX_INPUTS through the
 * backend's kernel where it has one, else one per tensor (the reference).
 */
export function sumsOfSquares(tensors: tf.Tensor[]): tf.Scalar[] {
  if (!hasSumSquaresKernel()) return sumsOfSquaresReference(tensors);
  const squares: tf.Scalar[] = [];
  for (let i = 0; i < tensors.length; i += SUM_SQUARES_MAX_INPUTS) {
    const group = tensors.slice(i, i + SUM_SQUARES_MAX_INPUTS);
    const inputs = Object.fromEntries(group.map((g, j) => [`x${j}`, g]));
    squares.push(tf.sum(tf.engine().runKernel(sumSquaresKernelName(group.length), inputs, {}) as tf.Tensor));
  }
  return squares;
}

/** Σ x² of each tensor with tfjs ops. */
export function sumsOfSquaresReference(tensors: tf.Tensor[]): tf.Scalar[] {
  return tensors.map((g) => tf.sum(tf.square(g)));
}
