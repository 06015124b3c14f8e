// Checks and timings of the fused decode kernels on the active backend (written for WebGPU on the GPU machine):
// the decode attention (lib/ops/decode-attention.ts) against its tfjs reference at the 35M shapes of every cache
// mode, ragged lengths, B > 1, one cached token and a prefill; and the cache write in place (lib/ops/cache-write.ts)
// against its reference (a concat), which must leave every other row of the buffer as it was. Each case runs in a
// Dawn error scope: a dropped command buffer is a failure, not a pass.
// Shape legend: B batch, H query heads, Tq new tokens, S cached rows (capacity), d/dv dims.
import * as tf from '@tensorflow/tfjs-core';
import { gpuErrorScope } from '../backend';
import {
  type DecodeTerm, cacheWrite, cacheWriteReference, decodeAttention, decodeAttentionReference, hasCacheWriteKernel, hasDecodeAttentionKernel,
} from '../ops';
import { type Spread, spread } from '../experiments/stats';
import { errorLine } from './train';

export interface DecodeAttentionShape {
  what: string;
  B: number;
  H: number;
  /** Query heads per KV head folded into the rows (GQA), 1 otherwise. */
  G: number;
  Tq: number;
  qStart: number;
  /** Rows of the cache buffers (≥ qStart + Tq; the rest are unwritten). */
  S: number;
  /** Per score term: its dim and whether its keys are per head (else shared by all heads). */
  terms: [number, boolean][];
  dv: number;
  vPerHead: boolean;
  /** The values are term 0's keys (absorbed MLA's latent). */
  vIsK0?: boolean;
}

/** The 35M presets' decode steps at context 2048 in each cache mode, then harder shapes. */
export const DECODE_ATTENTION_SHAPES: readonly DecodeAttentionShape[] = [
  { what: '35m-mla-rope absorbed', B: 1, H: 16, G: 1, Tq: 1, qStart: 2047, S: 2048, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: '35m-mla-rope latent', B: 1, H: 16, G: 1, Tq: 1, qStart: 2047, S: 2048, terms: [[16, true], [16, false]], dv: 32, vPerHead: true },
  { what: '35m-mla-rope full / 35m-mha-rope kv', B: 1, H: 16, G: 1, Tq: 1, qStart: 2047, S: 2048, terms: [[32, true]], dv: 32, vPerHead: true },
  { what: 'absorbed, batch 8, ragged buffer', B: 8, H: 16, G: 1, Tq: 1, qStart: 1000, S: 1024, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'absorbed prefill of 100 into a 128-row buffer', B: 2, H: 16, G: 1, Tq: 100, qStart: 0, S: 128, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'GQA 4 KV heads × 4, one cached token', B: 2, H: 4, G: 4, Tq: 1, qStart: 0, S: 64, terms: [[32, true]], dv: 32, vPerHead: true },
  { what: '35m-mla-rope absorbed at 32k (split-K)', B: 1, H: 16, G: 1, Tq: 1, qStart: 32767, S: 32832, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'absorbed, batch 16 at 4k (split-K)', B: 16, H: 16, G: 1, Tq: 1, qStart: 4095, S: 4160, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: '35m-mha-rope kv at 32k (split-K)', B: 1, H: 16, G: 1, Tq: 1, qStart: 32767, S: 32832, terms: [[32, true]], dv: 32, vPerHead: true },
  { what: '300m-mla-norope absorbed', B: 1, H: 16, G: 1, Tq: 1, qStart: 511, S: 576, terms: [[682, false]], dv: 682, vPerHead: false, vIsK0: true },
];

/** fp32 on both sides, different summation orders: a wrong kernel is off by order 1. */
export const DECODE_REL_TOL = 1e-4;

export interface DecodeAttentionRow {
  what: string;
  ok: boolean;
  /** Whether the backend's kernel took the call (else both sides are the reference and the row proves nothing). */
  fused: boolean;
  /** Largest |kernel − reference| over the reference's largest magnitude (or 1). */
  relErr?: number;
  /** One call ended by reading one number, after two untimed. */
  ms?: { fused: Spread; reference: Spread };
  error?: string;
}

const rand = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed) as tf.Tensor as tf.Tensor4D;

async function finished(t: tf.Tensor): Promise<void> {
  const probe = tf.slice(tf.reshape(t, [-1]), [0], [1]);
  await probe.data();
  probe.dispose();
}

async function timed(f: () => tf.Tensor, reps: number): Promise<Spread> {
  const ms: number[] = [];
  for (let r = 0; r < reps + 2; r++) {
    const t0 = performance.now();
    const y = f();
    await finished(y);
    if (r >= 2) ms.push(performance.now() - t0);
    y.dispose();
  }
  return spread(ms);
}

async function relDiff(got: tf.Tensor, want: tf.Tensor): Promise<number> {
  const d = tf.max(tf.abs(tf.sub(got, want)));
  const m = tf.max(tf.abs(want));
  const [diff, mag] = [(await d.data())[0], (await m.data())[0]];
  tf.dispose([d, m]);
  return Number.isNaN(diff) ? Infinity : diff / Math.max(mag, 1);
}

async function attentionCase(s: DecodeAttentionShape, reps: number): Promise<DecodeAttentionRow> {
  const M = s.G * s.Tq;
  const terms: DecodeTerm[] = s.terms.map(([d, perHead], i) => ({ q: rand([s.B, s.H, M, d], 1 + i, 1.5), k: rand([s.B, perHead ? s.H : 1, s.S, d], 11 + i) }));
  const v = s.vIsK0 ? terms[0].k : rand([s.B, s.vPerHead ? s.H : 1, s.S, s.dv], 21);
  const opts = { qStart: s.qStart, scale: 0.18, groups: s.G };
  try {
    const fused = hasDecodeAttentionKernel(terms, v);
    const got = decodeAttention(terms, v, opts);
    const want = decodeAttentionReference(terms, v, opts);
    const relErr = await relDiff(got, want);
    tf.dispose([got, want]);
    const ms = { fused: await timed(() => decodeAttention(terms, v, opts), reps), reference: await timed(() => decodeAttentionReference(terms, v, opts), reps) };
    return { what: s.what, fused, relErr, ms, ok: fused && relErr <= DECODE_REL_TOL };
  } finally {
    tf.dispose([...terms.flatMap((t) => [t.q, t.k]), v]);
  }
}

export interface CacheWriteShape {
  what: string;
  /** The buffer (B, X, capacity, W). */
  shape: [number, number, number, number];
  rows: number;
  start: number;
  dtype: 'float32' | 'int32';
}

export const CACHE_WRITE_SHAPES: readonly CacheWriteShape[] = [
  { what: '35m-mla-rope latent, one token', shape: [1, 1, 2048, 341], rows: 1, start: 1500, dtype: 'float32' },
  { what: '35m-mha-rope k, one token, batch 4', shape: [4, 16, 2048, 32], rows: 1, start: 2047, dtype: 'float32' },
  { what: 'prefill of 100 rows at 0', shape: [2, 1, 128, 357], rows: 100, start: 0, dtype: 'float32' },
  { what: 'int8 codes (int32), one token', shape: [1, 1, 512, 341], rows: 1, start: 77, dtype: 'int32' },
];

export interface CacheWriteRow {
  what: string;
  ok: boolean;
  /** Written in place: the result holds the buffer's storage. */
  inPlace: boolean;
  /** Largest |in place − concat| over the whole buffer (exactly 0 when right). */
  maxAbsDiff?: number;
  /** One write ended by reading one number, after two untimed: in place, and the reference (a concat). */
  ms?: { inPlace: Spread; reference: Spread };
  error?: string;
}

async function cacheWriteCase(s: CacheWriteShape, reps: number): Promise<CacheWriteRow> {
  const [B, X, cap, W] = s.shape;
  const ints = (shape: number[], seed: number) => tf.tidy(() => tf.cast(tf.floor(tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), 1000)), s.dtype));
  let buf = ints(s.shape, 1);
  const rows = ints([B, X, s.rows, W], 2);
  try {
    const inPlace = hasCacheWriteKernel();
    const want = cacheWriteReference(buf, rows, s.start);
    const id = buf.dataId;
    const got = cacheWrite(buf, rows, s.start);
    const sameStorage = got.dataId === id;
    buf.dispose();
    buf = got;
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(got, 'float32'), tf.cast(want, 'float32'))))); // the casts of float32 share got's storage: freed here
    const diff = (await d.data())[0];
    tf.dispose([d, want]);
    const write = () => {
      const next = cacheWrite(buf, rows, s.start);
      buf.dispose();
      buf = next;
      return tf.slice(next, [0, 0, s.start, 0], [1, 1, 1, 1]); // a copy for the timer to read and dispose: the buffer lives on
    };
    const ms = { inPlace: await timed(write, reps), reference: await timed(() => cacheWriteReference(buf, rows, s.start), reps) };
    return { what: s.what, inPlace: inPlace && sameStorage, maxAbsDiff: diff, ms, ok: inPlace && sameStorage && diff === 0 };
  } finally {
    tf.dispose([buf, rows]);
  }
}

export interface DecodeCheck {
  relTol: number;
  ok: boolean;
  attention: DecodeAttentionRow[];
  cacheWrite: CacheWriteRow[];
}

/** Every shape on the active backend, which must have the fused decode kernels (a row the reference took fails). */
export async function runDecodeCheck(reps = 10, onRow?: (r: DecodeAttentionRow | CacheWriteRow) => void): Promise<DecodeCheck> {
  const scoped = async <R extends DecodeAttentionRow | CacheWriteRow>(base: R, f: () => Promise<R>): Promise<R> => {
    const scope = gpuErrorScope();
    let row: R;
    try {
      row = await f();
    } catch (err) {
      row = { ...base, ok: false, error: errorLine(err) };
    }
    const gpuError = await scope.end();
    if (gpuError) row = { ...row, ok: false, error: `GPU ${gpuError}` };
    onRow?.(row);
    return row;
  };
  const attention: DecodeAttentionRow[] = [];
  for (const s of DECODE_ATTENTION_SHAPES) attention.push(await scoped({ what: s.what, ok: false, fused: false }, () => attentionCase(s, reps)));
  const writes: CacheWriteRow[] = [];
  for (const s of CACHE_WRITE_SHAPES) writes.push(await scoped({ what: s.what, ok: false, inPlace: false }, () => cacheWriteCase(s, reps)));
  return { relTol: DECODE_REL_TOL, ok: [...attention, ...writes].every((r) => r.ok), attention, cacheWrite: writes };
}
