// The attention core every variant shares: causal, scaled dot-product, with the score split into terms so
// decoupled variants can add a per-head no-RoPE term and a shared RoPE-key term without tiling the shared key.
// Shape legend: B batch, Hk key/value heads, G query heads per KV head, Tq new queries, Tk keys, d/dv dims.
import * as tf from '@tensorflow/tfjs-core';
import { flashApplies, flashCausalAttention } from './flash';
import type { CoreOptions, ScoreTerm } from './score-terms';
import { decodeAttention, hasDecodeAttentionKernel } from '../ops/decode-attention';

export type { CoreOptions, ScoreTerm } from './score-terms';

const NEG = -1e9;

/** Additive causal mask (G·Tq, Tk): 0 where key j ≤ qStart + i, a large negative number elsewhere. */
export function causalMask(tq: number, tk: number, qStart: number, groups = 1): tf.Tensor2D {
  const m = new Float32Array(groups * tq * tk);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < tq; i++) {
      const row = (g * tq + i) * tk;
      for (let j = qStart + i + 1; j < tk; j++) m[row + j] = NEG;
    }
  }
  return tf.tensor2d(m, [groups * tq, tk]);
}

// Training builds the same (T, T) mask in every layer of every step; on WebGPU each one was a 4 MB upload at
// T = 1024. The most recent masks are kept (per backend) and reused; they are constants, so nothing that
// holds a gradient refers to them and an evicted one can be freed at once.
const MASKS_KEPT = 16;
const maskCache = new Map<string, tf.Tensor2D>();

/** causalMask, kept and shared between calls: callers must not dispose it. */
export function sharedCausalMask(tq: number, tk: number, qStart: number, groups = 1): tf.Tensor2D {
  const key = `${tf.getBackend()}:${tq}:${tk}:${qStart}:${groups}`;
  const hit = maskCache.get(key);
  if (hit && !hit.isDisposed) {
    maskCache.delete(key); // re-insert: Map order is the eviction order
    maskCache.set(key, hit);
    return hit;
  }
  const mask = tf.keep(causalMask(tq, tk, qStart, groups));
  maskCache.set(key, mask);
  if (maskCache.size > MASKS_KEPT) {
    const [oldKey, old] = maskCache.entries().next().value as [string, tf.Tensor2D];
    maskCache.delete(oldKey);
    old.dispose();
  }
  return mask;
}

/**
 * a (B, Ha, M, K) · b (B, Hb, K, N) (b transposed when transposeB) where Hb is Ha or 1. A shared b is never
 * tiled and never left to matMul's batch broadcasting (tfjs's CPU kernel pairs (B, H) with (B, 1) batches
 * wrongly): a's heads are folded into its rows instead, (B, Ha, M, K) → (B, 1, Ha·M, K), a free reshape.
 */
export function headMatMul(a: tf.Tensor4D, b: tf.Tensor4D, transposeB = false): tf.Tensor4D {
  const [B, Ha, M, K] = a.shape;
  if (b.shape[1] === Ha) return tf.matMul(a, b, false, transposeB) as tf.Tensor4D;
  if (b.shape[1] !== 1) throw new Error(`headMatMul: ${Ha} heads against ${b.shape[1]}`);
  const folded = tf.reshape(a, [B, 1, Ha * M, K]); // (B, 1, Ha·M, K)
  const y = tf.matMul(folded, b, false, transposeB); // (B, 1, Ha·M, N)
  return tf.reshape(y, [B, Ha, M, y.shape[3] as number]) as tf.Tensor4D; // (B, Ha, M, N)
}

/** softmax(Σ q·kᵀ · scale + mask) · v → (B, Hk, G·Tq, dv). v may be (B, 1, Tk, dv) (shared, e.g. MLA's latent). */
export function causalAttention(terms: ScoreTerm[], v: tf.Tensor4D, opts: CoreOptions): tf.Tensor4D {
  // A whole sequence on a backend with the fused kernels (WebGPU) takes them: same result, no (T, T) tensor.
  if (flashApplies(terms, v, opts)) return flashCausalAttention(terms, v, opts);
  return unfusedCausalAttention(terms, v, opts);
}

/**
 * causalAttention for a decode step, whose keys and values are the cache (possibly a preallocated buffer, the
 * rows after the last query unwritten): one fused kernel per call where the backend has it and takes the dims
 * (lib/ops/decode-attention.ts; WebGPU), else causalAttention. A prefill that the fused causal attention takes
 * (a whole sequence against exactly its own keys: caches appended by concat) stays with it, built for long
 * sequences. Decoding only: the decode kernel has no gradient.
 */
export function cachedAttention(terms: ScoreTerm[], v: tf.Tensor4D, opts: CoreOptions): tf.Tensor4D {
  if (!flashApplies(terms, v, opts) && hasDecodeAttentionKernel(terms, v)) return decodeAttention(terms, v, opts);
  return causalAttention(terms, v, opts);
}

/** The simple path, on every backend: the scores as a (B, Hk, G·Tq, Tk) tensor, masked, softmaxed, applied. */
export function unfusedCausalAttention(terms: ScoreTerm[], v: tf.Tensor4D, opts: CoreOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const groups = opts.groups ?? 1;
    const rows = terms[0].q.shape[2];
    const tk = terms[0].k.shape[2];
    // The scale goes on the queries, (…, G·Tq, d), not on the (…, G·Tq, Tk) scores: at T = 1024 that saves a
    // pass over the largest tensor of the step, forward and backward.
    const scaled = (q: tf.Tensor4D) => tf.mul(q, opts.scale) as tf.Tensor4D;
    let scores = headMatMul(scaled(terms[0].q), terms[0].k, true); // (B, Hk, G·Tq, Tk)
    for (const t of terms.slice(1)) scores = tf.add(scores, headMatMul(scaled(t.q), t.k, true));
    const masked = tf.add(scores, sharedCausalMask(rows / groups, tk, opts.qStart, groups));
    const weights = tf.softmax(masked) as tf.Tensor4D; // (B, Hk, G·Tq, Tk)
    return headMatMul(weights, v); // (B, Hk, G·Tq, dv)
  });
}
