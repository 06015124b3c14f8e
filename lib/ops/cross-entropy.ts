// Per-row cross-entropy of logits (N, V) against int32 targets (N,): the op, its reference compositions with
// their gradients written out, and the two kernels a backend may register for it (on WebGPU
// lib/backend/webgpu/kernels/cross-entropy.ts: one pass over the logits for the loss and log-sum-exp of every
// row, one for the gradient).
// (The closures are cast for tf.customGrad, whose declared argument type does not admit a save function.)
// Shape legend: N rows (B·T), V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Inputs logits (N, V), targets (N,) int32; output (1, 1, 2N): per row [loss, log-sum-exp]. */
export const CROSS_ENTROPY_KERNEL = 'MlaCrossEntropy';
/** Inputs logits (N, V), stats (the forward's output), targets, dy (N,); output (1, 1, N·V). */
export const CROSS_ENTROPY_GRAD_KERNEL = 'MlaCrossEntropyGrad';

export function hasCrossEntropyKernel(): boolean {
  return hasKernel(CROSS_ENTROPY_KERNEL);
}

/**
 * Per-row cross-entropy of logits (N, V) against int32 targets (N,) → (N,), i.e. logsumexp(row) − row[target].
 * Gradient: (softmax(row) − onehot(target)) · dy, built with a scatter of −dy at the targets.
 */
export function crossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  if (hasCrossEntropyKernel()) return crossEntropyKernels(logits, targets);
  return crossEntropyOps(logits, targets);
}

/**
 * Largest flat index (row·V + target) that every backend's gather and scatter take exactly: tfjs-backend-webgpu
 * reads int32 indices through f32 (its input getters), so above 2^24 they round to a multiple of 2, 4, 8…:
 * at B·T = 8,192 rows of V = 10,000 most rows picked (and were trained towards) a neighbouring token.
 */
export const EXACT_FLAT_INDEX = 2 ** 24;

/**
 * crossEntropyRows with tfjs ops (the reference); past `flatLimit` elements, per-row indices (< V) instead of
 * flat ones. tfjs differentiates gather through UnsortedSegmentSum, whose CPU kernel loops over every segment
 * (every vocabulary id) for every row; the gradient here scatter-adds instead, O(rows · width).
 */
export function crossEntropyOps(logits: tf.Tensor2D, targets: tf.Tensor1D, flatLimit = EXACT_FLAT_INDEX): tf.Tensor1D {
  const [N, V] = logits.shape;
  if (N * V > flatLimit) return crossEntropyPerRow(logits, targets);
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const lse = tf.logSumExp(x, -1); // (N,)
    const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), targets); // row·V + target
    const picked = tf.gather(tf.reshape(x, [N * V]), flat); // (N,)
    save([x, lse, flat]);
    return {
      value: tf.sub(lse, picked) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lseS, flatS] = saved;
        const dyCol = tf.reshape(dy, [N, 1]); // (N, 1)
        const soft = tf.mul(tf.exp(tf.sub(xs, tf.reshape(lseS, [N, 1]))), dyCol); // softmax · dy, (N, V)
        const hit = tf.scatterND(tf.reshape(flatS, [N, 1]), tf.neg(dy), [N * V]); // −dy at each target
        return [tf.add(soft, tf.reshape(hit, [N, V]))];
      },
    };
  }) as never);
  return f(logits) as tf.Tensor1D;
}

/** crossEntropyOps for logits too large for flat indices: a batched gather picks each row's target, a one-hot places the gradient. */
function crossEntropyPerRow(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = logits.shape;
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const lse = tf.logSumExp(x, -1); // (N,)
    const picked = tf.reshape(tf.gather(x, tf.reshape(targets, [N, 1]), 1, 1), [N]); // x[i, target_i], (N,)
    save([x, lse]);
    return {
      value: tf.sub(lse, picked) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lseS] = saved;
        const dyCol = tf.reshape(dy, [N, 1]); // (N, 1)
        const soft = tf.exp(tf.sub(xs, tf.reshape(lseS, [N, 1]))); // softmax, (N, V)
        return [tf.mul(tf.sub(soft, tf.oneHot(targets, V)), dyCol)];
      },
    };
  }) as never);
  return f(logits) as tf.Tensor1D;
}

/** crossEntropyRows by the backend's two kernels. */
function crossEntropyKernels(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = logits.shape;
  const run = (name: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(name, inputs as tf.NamedTensorMap) as tf.Tensor;
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const stats = tf.reshape(run(CROSS_ENTROPY_KERNEL, { logits: x, targets }), [N, 2]); // (N, 2): loss, log-sum-exp
    save([x, stats]);
    return {
      value: tf.reshape(tf.slice(stats, [0, 0], [N, 1]), [N]) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.reshape(run(CROSS_ENTROPY_GRAD_KERNEL, { logits: saved[0], stats: saved[1], targets, dy }), [N, V])],
    };
  }) as never);
  return f(logits) as tf.Tensor1D;
}
