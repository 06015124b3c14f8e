// Multi-head Latent Attention (DeepSeek-V2), with or without decoupled RoPE.
//   queries: x → W_dq → LayerNorm → W_uq → per-head [nope N | rope R]      (R = 0 without RoPE, N = D)
//   keys/values: x → W_dkv → [latent Rkv | RoPE key R]; latent → LayerNorm → W_ukv → per-head [K_nope (N) | V (D)]
//   The RoPE key is projected straight from x, rotated, and shared by all heads, so it is cached once.
// Cache layouts (time on axis 2):
//   'full'      k (B, H, S, D), v (B, H, S, D) — expanded, as DeepSeek-V2's released code did;
//   'latent'    latent (B, 1, S, Rkv) after its LayerNorm, kRope (B, 1, S, R) — K/V re-expanded every step;
//   'absorbed'  the same tensors; W_UK is folded into the queries and W_UV into the output, so the cached
//               latent is attended to directly and nothing is re-expanded (a prefill of more than a few dozen
//               tokens is cheaper re-expanded, as 'latent', and goes that way: the cache it leaves is the same).
//   ropeDim = D (RoPE on every dim) leaves N = 0: no per-head no-RoPE keys, every key is the shared RoPE key, W_ukv
//   makes values only, and the score has the RoPE term alone (no zero-width tensor is ever made).
//   With a quantized cache (LayerCache.quant), 'latent' and 'absorbed' quantize each latent row once as it is
//   written and hold what its codes and scales stand for (dequantized at the write, so a step reads the cache as
//   an fp32 one does; storage bytes are the format's: types.ts cacheStorageBytes); kRope stays fp32.
// A decode step's attention goes through core.ts's cachedAttention: on WebGPU one fused kernel per layer, which for
// 'absorbed' reads the latent and RoPE key caches once for all heads. The absorbed W_UK and W_UV are made once per
// decode (LayerCache.memo, weight-memo.ts), not re-sliced every step.
// Shape legend: B batch, T/t time, S cached tokens, C model dim, H heads, D head dim, Rq/Rkv latent ranks.
import * as tf from '@tensorflow/tfjs-core';
import { ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode } from '../costs/cache-modes';
import { absorbedCallExpands } from '../costs/flops';
import { layerNorm, linear, mergeHeads, sliceLast, splitHeads, tidyKeep } from '../model/layers';
import { appendAll, appendFrom, checkStart, emptyCache } from './cache-utils';
import { decodeLinear, hasDecodeStepKernels } from '../ops/decode-linear';
import { decodeHeads } from '../ops/decode-heads';
import { ScoreTerm, cachedAttention, causalAttention } from './core';
import { WeightMemo } from './weight-memo';
import { RopeTables, applyRope } from './rope';
import { flashAttention, hasFlashAttentionKernel } from '../ops/flash-attention';
import { hasMlaHeadKernels, mlaHeads } from '../ops/mla-heads';
import { hasDecodeAttentionKernel } from '../ops/decode-attention';
import type { AttentionLayer, LayerCache, LayerNormWeights, WeightLookup } from './types';
import type { CacheQuant } from '../costs/kv-cache';
import { dequantize, quantize } from '../quant/latent-quant';

const isQuantized = (q: CacheQuant | undefined): q is CacheQuant => q !== undefined && q.format !== 'none';

/** Time rows 0 .. length − 1 of a cached tensor (B, ·, S, ·) whose capacity S may be larger. */
function writtenRows<T extends tf.Tensor>(t: T, length: number): T {
  return (t.shape[2] === length ? t : tf.slice(t, [0, 0, 0, 0], [-1, -1, length, -1])) as T;
}

export function createMla(c: ModelConfig, w: WeightLookup, rope?: RopeTables): AttentionLayer {
  // latentNorm false (config latentNorm 'none', converted models): both latents stay linear, no LayerNorm.
  const { headDim: D, nopeDim: N, rotaryDim: R, latentNorm } = deriveSizes(c);
  const H = c.nHeads;
  const Rkv = c.kvRank;
  const scale = 1 / Math.sqrt(D);
  const W = (name: string) => w(name) as tf.Tensor2D;
  const V1 = (name: string) => w(name) as tf.Tensor1D;

  /** x (B, T, C) → the query projection (B, T, H·D), each head [nope N | rope R]. */
  function queryProjection(x: tf.Tensor3D): tf.Tensor3D {
    const dq = linear(x, W('w_dq')); // (B, T, Rq)
    const cq = latentNorm ? (layerNorm(dq, V1('q_norm.weight'), V1('q_norm.bias')) as tf.Tensor3D) : dq;
    return linear(cq, W('w_uq')); // (B, T, H·D)
  }

  /** x (B, T, C) → dkv (B, T, Rkv + R) and its latent part after LayerNorm (B, T, Rkv). */
  function latentProjection(x: tf.Tensor3D) {
    const dkv = linear(x, W('w_dkv')); // (B, T, Rkv + R)
    const raw = rope ? sliceLast(dkv, 0, Rkv) : dkv; // (B, T, Rkv)
    const latent = latentNorm ? (layerNorm(raw, V1('kv_norm.weight'), V1('kv_norm.bias')) as tf.Tensor3D) : raw;
    return { dkv, latent };
  }

  /** Latent (B, S, Rkv) → kv (B, S, H·N + H·D): per-head no-RoPE keys, then per-head values. */
  const kvProjection = (latent: tf.Tensor3D) => linear(latent, W('w_ukv'));

  /** Per-head queries for x at positions start..: qNope (B, H, T, N) unless N = 0 and, with RoPE, qRope (B, H, T, R). */
  function queries(x: tf.Tensor3D, start: number): { qNope?: tf.Tensor4D; qRope?: tf.Tensor4D } {
    const q = splitHeads(queryProjection(x), H); // (B, H, T, D)
    if (!rope) return { qNope: q, qRope: undefined };
    return { qNope: N > 0 ? sliceLast(q, 0, N) : undefined, qRope: applyRope(sliceLast(q, N, D), rope, start) as tf.Tensor4D };
  }

  /** The per-token cache entries: latent (B, 1, T, Rkv) after LayerNorm, kRope (B, 1, T, R) rotated. */
  function latents(x: tf.Tensor3D, start: number) {
    const [B, T] = x.shape;
    const { dkv, latent: normed } = latentProjection(x);
    const latent = tf.reshape(normed, [B, 1, T, Rkv]) as tf.Tensor4D; // (B, 1, T, Rkv)
    if (!rope) return { latent, kRope: undefined };
    const raw = tf.reshape(sliceLast(dkv, Rkv, Rkv + R), [B, 1, T, R]); // (B, 1, T, R)
    return { latent, kRope: applyRope(raw, rope, start) as tf.Tensor4D };
  }

  /** Latent (B, 1, S, Rkv) → per-head kNope (B, H, S, N) (none when N = 0) and v (B, H, S, D) through W_ukv. */
  function expand(latent: tf.Tensor4D) {
    const [B, , S] = latent.shape;
    const kv = kvProjection(tf.reshape(latent, [B, S, Rkv]) as tf.Tensor3D); // (B, S, H·N + H·D)
    const v = splitHeads(N > 0 ? sliceLast(kv, H * N, H * N + H * D) : kv, H); // (B, H, S, D)
    return { kNope: N > 0 ? splitHeads(sliceLast(kv, 0, H * N), H) : undefined, v };
  }

  /** The score terms: the no-RoPE one (absent when N = 0) and, with RoPE, the shared key's. */
  function terms(qNope?: tf.Tensor4D, kNope?: tf.Tensor4D, qRope?: tf.Tensor4D, kRope?: tf.Tensor4D): ScoreTerm[] {
    const t: ScoreTerm[] = [];
    if (qNope && kNope) t.push({ q: qNope, k: kNope });
    if (qRope && kRope) t.push({ q: qRope, k: kRope }); // kRope (B, 1, S, R) broadcast over heads
    return t;
  }

  /** Per-head keys (B, H, S, D) = [kNope | the shared RoPE key in every head], the 'full' layout. */
  function fullKeys(kNope?: tf.Tensor4D, kRope?: tf.Tensor4D): tf.Tensor4D {
    const shared = kRope ? (tf.tile(kRope, [1, H, 1, 1]) as tf.Tensor4D) : undefined; // (B, H, S, R)
    if (kNope && shared) return tf.concat([kNope, shared], -1) as tf.Tensor4D;
    return (kNope ?? shared)!;
  }

  /** Whole query heads (B, H, T, D) from their parts. */
  const fullQueries = (q: ReturnType<typeof queries>) => (q.qNope && q.qRope ? (tf.concat([q.qNope, q.qRope], -1) as tf.Tensor4D) : (q.qNope ?? q.qRope)!);

  const out = (o: tf.Tensor4D) => linear(mergeHeads(o), W('w_o')); // (B, T, C)

  /**
   * A whole sequence on a backend with the fused attention and the head-layout kernels (WebGPU): q, k, v go
   * from the projections to the attention's (B·H, T, ·) layout in one kernel each (lib/ops/mla-heads.ts says why).
   */
  const fusedHeads = () => hasMlaHeadKernels() && hasFlashAttentionKernel({ D, Dv: D });
  function forwardFused(x: tf.Tensor3D) {
    const [B, T] = x.shape;
    const { dkv, latent } = latentProjection(x);
    const h = mlaHeads(queryProjection(x), kvProjection(latent), rope ? dkv : undefined, { heads: H, nope: N, rotary: rope ? R : 0, valueDim: D, latent: Rkv }, rope);
    const o = flashAttention(h.q, h.k, h.v, scale); // (B·H, T, D)
    return out(tf.reshape(o, [B, H, T, D]) as tf.Tensor4D);
  }

  /** `core` is causalAttention for a whole sequence, cachedAttention for a step against the cache. */
  function attendExpanded(q: ReturnType<typeof queries>, latent: tf.Tensor4D, kRope: tf.Tensor4D | undefined, start: number, core = causalAttention) {
    const { kNope, v } = expand(latent);
    return out(core(terms(q.qNope, kNope, q.qRope, kRope), v, { qStart: start, scale }));
  }

  // W_UK per head as (1, H, N, Rkv) and W_UV per head as (1, H, Rkv, D), from W_ukv's two column blocks.
  const makeWUK = () => tf.expandDims(tf.transpose(tf.reshape(sliceLast(W('w_ukv'), 0, H * N), [Rkv, H, N]), [1, 2, 0]), 0) as tf.Tensor4D; // (Rkv, H·N) → (1, H, N, Rkv)
  const makeWUV = () => tf.expandDims(tf.transpose(tf.reshape(sliceLast(W('w_ukv'), H * N, H * N + H * D), [Rkv, H, D]), [1, 0, 2]), 0) as tf.Tensor4D; // (Rkv, H·D) → (1, H, Rkv, D)

  // W_UK with R zero rows under each head's N, (1, H, D, Rkv): a whole query head [nope | rope] times it is
  // q_nope·W_UK (the rope part meets zeros), so the fused step's queries need no gather into q_nope first.
  const makeWUKPadded = () => (R === 0 ? makeWUK() : (tf.concat([makeWUK(), tf.zeros([1, H, R, Rkv])], 2) as tf.Tensor4D)); // (1, H, N + R, Rkv)

  /** W_UK (none when N = 0) and W_UV through the decode's memo, made again only when W_ukv changed (weight-memo.ts). */
  function absorbedWeights(memo: WeightMemo | undefined, padded = false): { wUK?: tf.Tensor4D; wUV: tf.Tensor4D } {
    const makeK = padded ? makeWUKPadded : makeWUK;
    if (!memo) return { wUK: N > 0 ? makeK() : undefined, wUV: makeWUV() };
    const sources = [W('w_ukv')];
    return { wUK: N > 0 ? memo.get(padded ? 'wUKPadded' : 'wUK', sources, makeK) : undefined, wUV: memo.get('wUV', sources, makeWUV) };
  }

  /** Absorbed attention straight against the latent cache. */
  function attendAbsorbed(q: ReturnType<typeof queries>, latent: tf.Tensor4D, kRope: tf.Tensor4D | undefined, start: number, memo?: WeightMemo) {
    const { wUK, wUV } = absorbedWeights(memo);
    // q_nope · k_nopeᵀ = q_nope · (latent · W_UK)ᵀ = (q_nope · W_UKᵀ) · latentᵀ: queries move into latent space.
    // A leading batch dim of 1 broadcasts correctly in matMul (it is (B, H) against (B, 1) that does not).
    const qLat = q.qNope && (tf.matMul(q.qNope, wUK!) as tf.Tensor4D); // (B, H, t, N)·(1, H, N, Rkv) → (B, H, t, Rkv)
    // Values stay latent through the weighted sum; W_UV is applied once per head afterwards.
    const oLat = cachedAttention(terms(qLat, latent, q.qRope, kRope), latent, { qStart: start, scale }); // (B, H, t, Rkv)
    return out(tf.matMul(oLat, wUV) as tf.Tensor4D); // (B, H, t, D) → (B, t, C)
  }

  /**
   * What one write adds to a latent cache: the latent (fp32, or quantized and dequantized as it is written: the
   * values the stored codes stand for) and the fp32 RoPE key.
   */
  function latentEntries(cache: LayerCache, latent: tf.Tensor4D, kRope?: tf.Tensor4D): Record<string, tf.Tensor> {
    const add: Record<string, tf.Tensor> = {
      latent: isQuantized(cache.quant) ? dequantize(quantize(latent, cache.quant), cache.quant) : latent, // (B, 1, t, Rkv)
    };
    if (kRope) add.kRope = kRope; // (B, 1, t, R): never quantized
    return add;
  }

  /** The step's new latent rows (B, 1, t, Rkv) from a = [dq | latent | RoPE key] (B, t, ·), LayerNormed: what a quantized cache quantizes. */
  function quantizableLatent(a: tf.Tensor3D, kvNorm?: { gamma: tf.Tensor1D; beta: tf.Tensor1D }): tf.Tensor4D {
    const [B, t] = a.shape;
    const raw = tf.slice(a, [0, 0, c.qRank], [-1, -1, Rkv]) as tf.Tensor3D; // (B, t, Rkv)
    const normed = kvNorm ? (layerNorm(raw, kvNorm.gamma, kvNorm.beta) as tf.Tensor3D) : raw;
    return tf.reshape(normed, [B, 1, t, Rkv]) as tf.Tensor4D; // (B, 1, t, Rkv)
  }

  /** The whole cached latent (B, 1, S, Rkv) as the attention reads it (a quantized one was dequantized at its write). */
  const cachedLatent = (cache: LayerCache) => cache.tensors.latent as tf.Tensor4D;

  /**
   * x + attention(LN(x)) for a decode step on the step kernels (lib/ops/decode-linear.ts), the row of each projection
   * read by column where the ops sliced it: LN with W_dq and W_dkv in one projection a = [dq (Rq) | latent (Rkv) |
   * RoPE key (R)]; q_norm with W_uq (from a's first Rq columns); the latent LayerNormed and the RoPE key rotated as
   * they are written into the cache; per mode the queries gathered (and rotated) in the layout the attention takes;
   * W_o with the residual. A quantized cache's new latent rows go through ops instead (LayerNorm, quantize and
   * dequantize have no step kernel) and are written in place with the rotated RoPE key; the rest is the same step.
   */
  function residualStep(x: tf.Tensor3D, norm: LayerNormWeights, cache: LayerCache, start: number) {
    const [B, t] = x.shape;
    if (!hasDecodeStepKernels(B * t)) return null;
    checkStart(cache, start);
    return tidyKeep(() => {
      const Rq = c.qRank;
      const a = decodeLinear(x, [W('w_dq'), W('w_dkv')], { norm }) as tf.Tensor3D; // (B, t, Rq + Rkv + R)
      const qNorm = latentNorm ? { gamma: V1('q_norm.weight'), beta: V1('q_norm.bias') } : undefined;
      const kvNorm = latentNorm ? { gamma: V1('kv_norm.weight'), beta: V1('kv_norm.bias') } : undefined;
      const q = decodeLinear(a, [W('w_uq')], { norm: qNorm }) as tf.Tensor3D; // (B, t, H·D), from a's first Rq columns
      const qRope = rope ? decodeHeads(q, H, { offset: N, stride: D, width: R, rotary: R }, rope, start) : undefined; // (B, H, t, R)
      const kRopeRows = { src: a, offset: Rq + Rkv, stride: 0, width: R, rotary: R }; // the shared key, rotated
      const outRes = (o: tf.Tensor4D) => decodeLinear(mergeHeads(o), [W('w_o')], { residual: x }) as tf.Tensor3D; // (B, t, C)
      if (cache.mode === 'full') {
        const kv = decodeLinear(a, [W('w_ukv')], { offset: Rq, norm: kvNorm }) as tf.Tensor3D; // (B, t, H·N + H·D)
        const next = appendFrom(cache, {
          k: { heads: H, parts: [...(N > 0 ? [{ src: kv, offset: 0, stride: N, width: N, rotary: 0 }] : []), ...(rope ? [kRopeRows] : [])] }, // (B, H, S, N + R)
          v: { heads: H, parts: [{ src: kv, offset: H * N, stride: D, width: D, rotary: 0 }] }, // (B, H, S, D)
        }, t, rope);
        const qFull = decodeHeads(q, H, { offset: 0, stride: D, width: D, rotary: rope ? R : 0 }, rope, start); // (B, H, t, D)
        const o = cachedAttention([{ q: qFull, k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale });
        return { y: outRes(o), cache: next };
      }
      const next = isQuantized(cache.quant)
        ? appendAll(cache, latentEntries(cache, quantizableLatent(a, kvNorm), rope ? decodeHeads(a, 1, kRopeRows, rope, start) : undefined), t)
        : appendFrom(cache, {
          latent: { heads: 1, parts: [{ src: a, offset: Rq, stride: 0, width: Rkv, rotary: 0 }], norm: kvNorm }, // (B, 1, S, Rkv)
          ...(rope ? { kRope: { heads: 1, parts: [kRopeRows] } } : {}), // (B, 1, S, R)
        }, t, rope);
      const latent = next.tensors.latent as tf.Tensor4D;
      const kr = next.tensors.kRope as tf.Tensor4D | undefined;
      if (cache.mode === 'absorbed' && !absorbedCallExpands(c, t, next.length)) {
        const { wUK, wUV } = absorbedWeights(next.memo, true);
        // Whole query heads (B, H, t, D), a free reshape for one token; W_UK's zero rows meet their RoPE part.
        const qh = () => (t === 1 ? (tf.reshape(q, [B, H, 1, D]) as tf.Tensor4D) : decodeHeads(q, H, { offset: 0, stride: D, width: D, rotary: 0 }));
        const qLat = N > 0 ? (tf.matMul(qh(), wUK!) as tf.Tensor4D) : undefined; // (B, H, t, D)·(1, H, D, Rkv) → (B, H, t, Rkv)
        const oLat = cachedAttention(terms(qLat, latent, qRope, kr), latent, { qStart: start, scale }); // (B, H, t, Rkv)
        return { y: outRes(tf.matMul(oLat, wUV) as tf.Tensor4D), cache: next };
      }
      // 'latent' (and an absorbed cache's expanding call): the cache re-expanded through W_ukv, kNope and v gathered.
      const whole = hasDecodeAttentionKernel();
      const lat = whole ? latent : writtenRows(latent, next.length); // (B, 1, S, Rkv)
      const S = lat.shape[2];
      const kvAll = kvProjection(tf.reshape(lat, [B, S, Rkv]) as tf.Tensor3D); // (B, S, H·N + H·D)
      const kNope = N > 0 ? decodeHeads(kvAll, H, { offset: 0, stride: N, width: N, rotary: 0 }) : undefined; // (B, H, S, N)
      const v = decodeHeads(kvAll, H, { offset: H * N, stride: D, width: D, rotary: 0 }); // (B, H, S, D)
      const qNope = N > 0 ? decodeHeads(q, H, { offset: 0, stride: D, width: N, rotary: 0 }) : undefined; // (B, H, t, N)
      const o = cachedAttention(terms(qNope, kNope, qRope, kr && writtenRows(kr, S)), v, { qStart: start, scale });
      return { y: outRes(o), cache: next };
    });
  }

  return {
    residualStep,
    forward: (x) =>
      tf.tidy(() => {
        if (fusedHeads()) return forwardFused(x);
        const q = queries(x, 0);
        const { latent, kRope } = latents(x, 0);
        return attendExpanded(q, latent, kRope, 0);
      }),
    emptyCache: (_batch: number, mode: CacheMode) => {
      const empty = emptyCache(checkCacheMode(c, mode));
      return mode === 'absorbed' ? { ...empty, memo: new WeightMemo() } : empty;
    },
    step(x, cache: LayerCache, start) {
      checkStart(cache, start);
      return tidyKeep(() => {
        const t = x.shape[1];
        const q = queries(x, start);
        const { latent, kRope } = latents(x, start);
        if (cache.mode === 'full') {
          const e = expand(latent);
          const next = appendAll(cache, { k: fullKeys(e.kNope, kRope), v: e.v }, t); // k (B, H, t, D)
          const o = cachedAttention([{ q: fullQueries(q), k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale });
          return { y: out(o), cache: next };
        }
        const next = appendAll(cache, latentEntries(cache, latent, kRope), t);
        const kr = next.tensors.kRope as tf.Tensor4D | undefined;
        // An absorbed cache's prefill (many queries at once) is cheaper re-expanded, each cached latent once, than
        // absorbed, each query against every latent (lib/costs/flops.ts mlaAttentionFlops); the cache is the same.
        if (cache.mode === 'absorbed' && !absorbedCallExpands(c, t, next.length)) {
          const lat = cachedLatent(next);
          return { y: attendAbsorbed(q, lat, kr && writtenRows(kr, lat.shape[2]), start, next.memo), cache: next };
        }
        // 'latent' (and that prefill) re-expands every row it attends to through W_ukv. The unfused core reads all it
        // is given, so it gets only the written rows, not a buffer's spare ones (the absorbed path instead attends to
        // the whole buffer, the spare rows masked, which is cheaper than a copy); the fused decode attention never
        // reads past the last query, so there the whole buffer is expanded and the two slices, a dispatch each, are
        // saved.
        const whole = hasDecodeAttentionKernel();
        const lat = whole ? cachedLatent(next) : writtenRows(cachedLatent(next), next.length);
        const y = attendExpanded(q, lat, kr && writtenRows(kr, lat.shape[2]), start, cachedAttention);
        return { y, cache: next };
      });
    },
  };
}
