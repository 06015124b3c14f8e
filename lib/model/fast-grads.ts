// The embedding lookup, whose tfjs gradient is slow on the CPU backend, with its gradient written directly.
// (The closure is cast for tf.customGrad, whose declared argument type does not admit a save function.)
// tfjs differentiates gather through UnsortedSegmentSum, whose CPU kernel loops over every segment (every
// vocabulary id) for every row: at B·T = 2048 rows and V = 10,000 ids that dominated a training step. This op
// scatter-adds instead (ScatterNd sums duplicate indices), which costs O(rows · width); so does the
// cross-entropy's gradient (lib/ops/cross-entropy.ts).
// Shape legend: N rows (B·T), V vocabulary, C model dim.
import * as tf from '@tensorflow/tfjs-core';

/** table (V, C) rows picked by ids (N,) int32 → (N, C), with a scatter-add gradient for the table. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [V, C] = table.shape;
  const f = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]);
    return {
      value: tf.gather(t, ids) as tf.Tensor2D, // (N, C)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const idx = tf.reshape(saved[0], [-1, 1]); // (N, 1): scatter positions
        return [tf.scatterND(idx, dy, [V, C])]; // (V, C), duplicates summed
      },
    };
  }) as never);
  return f(table) as tf.Tensor2D;
}

// The cross-entropy (its kernels and its reference compositions) is the op of lib/ops/cross-entropy.ts.
export { EXACT_FLAT_INDEX, crossEntropyOps, crossEntropyRows } from '../ops/cross-entropy';
