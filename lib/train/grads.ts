// Gradients of one optimizer step: summed over micro-batches, then measured and clipped by global norm as
// torch.nn.utils.clip_grad_norm_ does (factor max_norm / (norm + 1e-6), capped at 1).
import * as tf from '@tensorflow/tfjs-core';
import { SUM_SQUARES_MAX_INPUTS, sumSquaresKernelName } from '../backend/sum-squares';

/** Adds `grads` into `acc` (taking ownership of both); returns the new sums. */
export function accumulate(acc: Record<string, tf.Tensor> | undefined, grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  if (!acc) return grads;
  const out: Record<string, tf.Tensor> = { ...acc };
  for (const [name, g] of Object.entries(grads)) {
    const prev = acc[name];
    if (!prev) {
      out[name] = g;
      continue;
    }
    out[name] = tf.add(prev, g);
    prev.dispose();
    g.dispose();
  }
  return out;
}

/** √(Σ g²) over every tensor, as a scalar tensor. */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const all = Object.values(grads);
    const squares: tf.Tensor[] = [];
    if (tf.getKernel(sumSquaresKernelName(1), tf.getBackend())) {
      // The backend's Σ x² shader (lib/backend/sum-squares.ts): one dispatch per 7 tensors, not two per tensor.
      for (let i = 0; i < all.length; i += SUM_SQUARES_MAX_INPUTS) {
        const group = all.slice(i, i + SUM_SQUARES_MAX_INPUTS);
        const inputs = Object.fromEntries(group.map((g, j) => [`x${j}`, g]));
        squares.push(tf.sum(tf.engine().runKernel(sumSquaresKernelName(group.length), inputs, {}) as tf.Tensor));
      }
    } else {
      for (const g of all) squares.push(tf.sum(tf.square(g)));
    }
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/** The factor that brings a gradient of norm `norm` under `maxNorm` (1 when already under, or when maxNorm is 0). */
export function clipFactor(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
