// Causal attention through the fused op (lib/ops/flash-attention.ts) where the backend has its kernels
// (WebGPU): the scores never exist as a (B, H, T, T) tensor, forward or backward. It takes the training-time
// case, a whole sequence against itself; decoding steps and backends without the kernels use core.ts's path,
// against which test/attention/flash.test.ts checks this one (values and gradients).
// Shape legend: B batch, Hk KV heads, G query heads per KV head, H = Hk·G, T time, d/D/Dv dims.
import * as tf from '@tensorflow/tfjs-core';
import { flashAttention, hasFlashAttentionKernel } from '../ops/flash-attention';
import type { CoreOptions, ScoreTerm } from './score-terms';

export { flashAttention } from '../ops/flash-attention';

/**
 * x (N, 1, M) → (N, reps, M) by tiling, with the gradient summed over the copies in one reduction: tfjs's own
 * Tile gradient adds the copies one slice at a time, 2·reps kernels (32 per layer for MLA's shared RoPE key).
 */
function repeatRows(x: tf.Tensor3D, reps: number): tf.Tensor3D {
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.tile(xi, [1, reps, 1]) as tf.Tensor3D,
    gradFunc: (dy: tf.Tensor) => tf.sum(dy, 1, true), // (N, reps, M) → (N, 1, M)
  })) as never);
  return f(x) as tf.Tensor3D;
}

/** Whether the current backend has the fused kernels and they take this call (else core.ts's path runs). */
export function flashApplies(terms: ScoreTerm[], v: tf.Tensor4D, opts: CoreOptions): boolean {
  if (opts.qStart !== 0 || !hasFlashAttentionKernel()) return false;
  const groups = opts.groups ?? 1;
  const [, Hk, rows] = terms[0].q.shape;
  const [, Hv, tk, Dv] = v.shape;
  if (rows !== groups * tk || terms.some((t) => t.q.shape[1] !== Hk || t.q.shape[2] !== rows || t.k.shape[2] !== tk)) return false;
  if ((Hv !== Hk && Hv !== 1) || terms.some((t) => t.k.shape[1] !== Hk && t.k.shape[1] !== 1)) return false;
  const D = terms.reduce((s, t) => s + t.q.shape[3], 0);
  return hasFlashAttentionKernel({ D, Dv });
}

/**
 * core.ts's causalAttention for a whole sequence (qStart 0, Tq = Tk) on the fused kernels: the score terms
 * become one query and one key per head by concatenating their dims (Σ_t q_t·k_tᵀ = [q_1 | q_2]·[k_1 | k_2]ᵀ),
 * with shared keys/values repeated over heads and grouped query heads unfolded into heads of their own.
 */
export function flashCausalAttention(terms: ScoreTerm[], v: tf.Tensor4D, opts: CoreOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const G = opts.groups ?? 1;
    const [B, Hk, GT] = terms[0].q.shape;
    const T = GT / G;
    const H = Hk * G;
    // (B, Hk or 1, T, d) → (B·H, T, d): each query head gets its KV head's rows (a copy only when shared/grouped).
    const perHead = (x: tf.Tensor4D) => {
      const d = x.shape[3];
      const reps = x.shape[1] === 1 ? H : G;
      if (reps === 1) return tf.reshape(x, [B * H, T, d]) as tf.Tensor3D;
      const rows = tf.reshape(x, [B * x.shape[1], 1, T * d]) as tf.Tensor3D; // (B·Hx, 1, T·d)
      return tf.reshape(repeatRows(rows, reps), [B * H, T, d]) as tf.Tensor3D; // (B·Hx, reps, T·d) → (B·H, T, d)
    };
    // Queries (B, Hk, G·T, d): rows g·T + i are head g of the group, a free reshape to (B·H, T, d).
    const q = tf.concat(terms.map((t) => tf.reshape(t.q, [B * H, T, t.q.shape[3]])), -1) as tf.Tensor3D; // (B·H, T, D)
    const k = tf.concat(terms.map((t) => perHead(t.k)), -1) as tf.Tensor3D; // (B·H, T, D)
    const o = flashAttention(q, k, perHead(v), opts.scale); // (B·H, T, Dv)
    return tf.reshape(o, [B, Hk, G * T, v.shape[3]]) as tf.Tensor4D; // (B, Hk, G·T, Dv)
  });
}
