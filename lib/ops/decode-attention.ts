// Attention of a decode step's few new queries against a cache, fused: softmax(scale · Σ_terms q·kᵀ + causal
// mask) · v in one kernel, the scores never a tensor. With the unfused core a step costs ~15 kernels per layer
// (scaling, two products per score term, the mask, the softmax's five, the weighted sum, reshapes); on WebGPU
// each is a dispatch with ~20-30 µs of host time, and batch-1 decoding is bound by that host time.
// The op takes the attention core's layout (lib/attention/score-terms.ts): each term's q is (B, Hq, M, d) with
// M = G·Tq rows per head (G query heads grouped on a KV head, row g·Tq + i is query i of the g-th), and its k is
// (B, Hq, S, d) per head or (B, 1, S, d) shared by all heads; v (B, Hq or 1, S, dv). Query i sits at position
// qStart + i and sees keys 0 ..= qStart + i, so a preallocated cache's unwritten rows (after every query) are
// never read. Where every key and the value are shared (absorbed MLA: the latent is both, the RoPE key is one),
// all heads' rows are folded into one head first, (B, Hq, M, d) → (B, 1, Hq·M, d), so one pass over the cache
// serves every head (FlashMLA's idea). The kernels (lib/backend/webgpu/kernels/decode-attention.ts) take one or
// two score terms; the reference is the unfused math with tfjs ops, which CPU and every backend without the
// kernels run. There is no gradient: decoding only.
// Shape legend: B batch, Hq query-row heads, M rows per head, Tq new positions, S cached keys, d/dv dims.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** The kernel for 1 or 2 score terms. Inputs q0, k0 (, q1, k1), v; attrs DecodeAttentionAttrs; output (1, 1, B·Hq·M·dv). */
export const decodeAttentionKernelName = (terms: 1 | 2) => `MlaDecodeAttention${terms}`;

export interface DecodeAttentionAttrs {
  scale: number;
  /** Position of the first query. */
  qStart: number;
  /** New positions Tq: row r of a head is at position qStart + r mod Tq. */
  queries: number;
}

export interface DecodeTerm {
  /** (B, Hq, M, d). */
  q: tf.Tensor4D;
  /** (B, Hq, S, d) or (B, 1, S, d). */
  k: tf.Tensor4D;
}

export interface DecodeAttentionOptions {
  qStart: number;
  scale: number;
  /** Query heads per KV head folded into the rows, G (default 1): M = G·Tq. */
  groups?: number;
}

/** Widest query/key row (Σ d over terms) and value row the kernels take: their tiles must fit workgroup memory. */
export const DECODE_ATTENTION_MAX_WIDTH = 2048;
/** WebGPU's 65,535 workgroups per dispatch axis, over one-row blocks: rows per head the kernels take at most. */
export const DECODE_ATTENTION_MAX_ROWS = 65535;

export interface DecodeAttentionDims {
  /** Σ d of the score terms (the query/key row). */
  width: number;
  valueDim: number;
  /** Query rows per head after folding (Hq·M when everything is shared, else M). */
  rows: number;
}

/** Why the kernels cannot take these dims, or null when they can. */
export function decodeAttentionUnsupported(d: DecodeAttentionDims): string | null {
  if (d.width > DECODE_ATTENTION_MAX_WIDTH) return `query/key width ${d.width} > ${DECODE_ATTENTION_MAX_WIDTH}`;
  if (d.valueDim > DECODE_ATTENTION_MAX_WIDTH) return `value width ${d.valueDim} > ${DECODE_ATTENTION_MAX_WIDTH}`;
  if (d.rows > DECODE_ATTENTION_MAX_ROWS) return `${d.rows} query rows per head > ${DECODE_ATTENTION_MAX_ROWS}`;
  return null;
}

/** Whether every key and the value are shared by all heads, so the heads fold into rows. */
function allShared(terms: DecodeTerm[], v: tf.Tensor4D): boolean {
  return v.shape[1] === 1 && terms.every((t) => t.k.shape[1] === 1);
}

/** The dims the kernel would see for this call. */
export function decodeAttentionDims(terms: DecodeTerm[], v: tf.Tensor4D): DecodeAttentionDims {
  const [, Hq, M] = terms[0].q.shape;
  return { width: terms.reduce((s, t) => s + t.q.shape[3], 0), valueDim: v.shape[3], rows: allShared(terms, v) ? Hq * M : M };
}

/** Whether the active backend has the kernels and they take this call (else the reference runs). */
export function hasDecodeAttentionKernel(terms?: DecodeTerm[], v?: tf.Tensor4D): boolean {
  if (!hasKernel(decodeAttentionKernelName(1))) return false;
  if (!terms || !v) return true;
  return terms.length <= 2 && hasKernel(decodeAttentionKernelName(terms.length as 1 | 2)) && decodeAttentionUnsupported(decodeAttentionDims(terms, v)) === null;
}

/** Shapes and positions, each as one line naming the thing and the fix. */
export function checkDecodeAttention(terms: DecodeTerm[], v: tf.Tensor4D, opts: DecodeAttentionOptions): void {
  const what = 'decode attention';
  if (terms.length === 0) throw new Error(`${what}: needs at least one score term`);
  const [B, Hq, M] = terms[0].q.shape;
  const S = v.shape[2];
  const G = opts.groups ?? 1;
  for (const [i, t] of terms.entries()) {
    const [qB, qH, qM, d] = t.q.shape;
    const [kB, kH, kS, kd] = t.k.shape;
    if (qB !== B || qH !== Hq || qM !== M) throw new Error(`${what}: term ${i}'s queries are (${t.q.shape}), term 0's (${terms[0].q.shape}); every term needs the same (B, Hq, M)`);
    if (kB !== B || (kH !== Hq && kH !== 1) || kd !== d) throw new Error(`${what}: term ${i}'s keys (${t.k.shape}) do not fit its queries (${t.q.shape}); keys are (B, Hq or 1, S, d)`);
    if (kS !== S) throw new Error(`${what}: term ${i} has ${kS} cached keys and the values ${S}; every cached tensor needs the same rows`);
  }
  if (v.shape[0] !== B || (v.shape[1] !== Hq && v.shape[1] !== 1)) throw new Error(`${what}: values (${v.shape}) do not fit queries (${terms[0].q.shape}); values are (B, Hq or 1, S, dv)`);
  if (!Number.isInteger(G) || G < 1 || M % G !== 0) throw new Error(`${what}: ${M} rows per head are not ${G} groups of queries; M must be G·Tq`);
  const Tq = M / G;
  if (!Number.isInteger(opts.qStart) || opts.qStart < 0) throw new RangeError(`${what}: position ${opts.qStart} must be an integer ≥ 0`);
  if (opts.qStart + Tq > S) {
    throw new RangeError(`${what}: queries at positions ${opts.qStart} .. ${opts.qStart + Tq - 1} need ${opts.qStart + Tq} cached keys, the cache holds ${S}; write the new tokens into the cache before attending`);
  }
}

/**
 * softmax(scale · Σ q·kᵀ + causal mask) · v → (B, Hq, M, dv), by the backend's kernel where it takes the call,
 * else by the reference.
 */
export function decodeAttention(terms: DecodeTerm[], v: tf.Tensor4D, opts: DecodeAttentionOptions): tf.Tensor4D {
  checkDecodeAttention(terms, v, opts);
  if (!hasDecodeAttentionKernel(terms, v)) return decodeAttentionReference(terms, v, opts);
  return tf.tidy(() => {
    const [B, Hq, M] = terms[0].q.shape;
    const dv = v.shape[3];
    const fold = allShared(terms, v) && Hq > 1;
    // (B, Hq, M, d) → (B, 1, Hq·M, d): every head reads the same keys, so its rows join one head's (a free reshape).
    const q = (t: tf.Tensor4D) => (fold ? (tf.reshape(t, [B, 1, Hq * M, t.shape[3]]) as tf.Tensor4D) : t);
    const inputs: Record<string, tf.Tensor> = { v };
    terms.forEach((t, i) => {
      inputs[`q${i}`] = q(t.q);
      inputs[`k${i}`] = t.k;
    });
    const attrs = { scale: opts.scale, qStart: opts.qStart, queries: M / (opts.groups ?? 1) } satisfies DecodeAttentionAttrs;
    const flat = tf.engine().runKernel(decodeAttentionKernelName(terms.length as 1 | 2), inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor; // (1, 1, B·Hq·M·dv)
    return tf.reshape(flat, [B, Hq, M, dv]) as tf.Tensor4D; // (B, Hq, M, dv)
  });
}

/** Additive mask (M, S): 0 where key j ≤ qStart + (r mod Tq), a large negative number elsewhere. */
function decodeMask(M: number, S: number, Tq: number, qStart: number): tf.Tensor2D {
  const m = new Float32Array(M * S);
  for (let r = 0; r < M; r++) for (let j = qStart + (r % Tq) + 1; j < S; j++) m[r * S + j] = -1e9;
  return tf.tensor2d(m, [M, S]);
}

/**
 * a (B, Ha, M, K) · b (B, Hb, K, N) (bᵀ when transposeB), Hb = Ha or 1: a shared b is met by folding a's heads into
 * its rows, never by matMul's batch broadcasting, which tfjs's CPU kernel gets wrong for (B, H) against (B, 1).
 */
function headProduct(a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean): tf.Tensor4D {
  const [B, Ha, M, K] = a.shape;
  if (b.shape[1] === Ha) return tf.matMul(a, b, false, transposeB) as tf.Tensor4D;
  const y = tf.matMul(tf.reshape(a, [B, 1, Ha * M, K]), b, false, transposeB); // (B, 1, Ha·M, N)
  return tf.reshape(y, [B, Ha, M, y.shape[3] as number]) as tf.Tensor4D; // (B, Ha, M, N)
}

/** decodeAttention with tfjs ops: the (B, Hq, M, S) scores, masked, softmaxed, applied. */
export function decodeAttentionReference(terms: DecodeTerm[], v: tf.Tensor4D, opts: DecodeAttentionOptions): tf.Tensor4D {
  checkDecodeAttention(terms, v, opts);
  return tf.tidy(() => {
    const M = terms[0].q.shape[2];
    const S = v.shape[2];
    let scores = headProduct(tf.mul(terms[0].q, opts.scale) as tf.Tensor4D, terms[0].k, true); // (B, Hq, M, S)
    for (const t of terms.slice(1)) scores = tf.add(scores, headProduct(tf.mul(t.q, opts.scale) as tf.Tensor4D, t.k, true));
    const masked = tf.add(scores, decodeMask(M, S, M / (opts.groups ?? 1), opts.qStart));
    return headProduct(tf.softmax(masked) as tf.Tensor4D, v, false); // (B, Hq, M, dv)
  });
}
