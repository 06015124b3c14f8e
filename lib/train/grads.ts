// Gradients of one optimizer step: summed over micro-batches, then measured and clipped by global norm as
// torch.nn.utils.clip_grad_norm_ does (factor max_norm / (norm + 1e-6), capped at 1).
import * as tf from '@tensorflow/tfjs-core';
import { sumsOfSquares } from '../ops/sum-squares';

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
    // On a backend with the Σ x² kernel (lib/ops/sum-squares.ts): one dispatch per 7 tensors, not two per tensor.
    const squares = sumsOfSquares(Object.values(grads));
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/** The factor that brings a gradient of norm `norm` under `maxNorm` (1 when already under, or when maxNorm is 0). */
export function clipFactor(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
