// MHA with decoupled RoPE, as in the study: Q and V come from one projection; each query head is
// [nopeDim no-RoPE dims | rotaryDim RoPE dims]; each key head is [its own no-RoPE part | one RoPE key shared by
// all heads]. The shared key is projected from x and rotated, so it is computed and cached once per token.
// Caches: 'kv'   kNope (B, H, S, nope), kRope (B, 1, S, r), v (B, H, S, D)  — nothing repeated;
//         'full' k (B, H, S, D) with the shared RoPE key copied into every head, v (B, H, S, D) — the study's count.
// ropeDim = D (RoPE on every dim) leaves N = 0: no per-head key part (no kNope cached), every key is the shared
// RoPE key, and the score has its term alone (no zero-width tensor is ever made).
import * as tf from '@tensorflow/tfjs-core';
import { ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode } from '../costs/cache-modes';
import { linear, mergeHeads, sliceLast, splitHeads, tidyKeep } from '../model/layers';
import { appendAll, appendFrom, checkStart, emptyCache } from './cache-utils';
import { decodeLinear, hasDecodeStepKernels } from '../ops/decode-linear';
import { decodeHeads } from '../ops/decode-heads';
import { cachedAttention, causalAttention } from './core';
import { RopeTables, applyRope } from './rope';
import type { AttentionLayer, LayerCache, LayerNormWeights, WeightLookup } from './types';
import type { ScoreTerm } from './score-terms';

export function createMhaDecoupledRope(c: ModelConfig, w: WeightLookup, rope: RopeTables): AttentionLayer {
  const { headDim: D, nopeDim: N, rotaryDim: R } = deriveSizes(c);
  const H = c.nHeads;
  const scale = 1 / Math.sqrt(D);

  function project(x: tf.Tensor3D, start: number) {
    const [B, T] = x.shape;
    const qv = linear(x, w('w_qv') as tf.Tensor2D); // (B, T, 2·H·D)
    const q = splitHeads(sliceLast(qv, 0, H * D), H); // (B, H, T, D)
    const v = splitHeads(sliceLast(qv, H * D, 2 * H * D), H); // (B, H, T, D)
    const kk = linear(x, w('w_k') as tf.Tensor2D); // (B, T, H·N + R)
    const kNope = N > 0 ? splitHeads(sliceLast(kk, 0, H * N), H) : undefined; // (B, H, T, N)
    const kRopeRaw = tf.reshape(N > 0 ? sliceLast(kk, H * N, H * N + R) : kk, [B, 1, T, R]); // (B, 1, T, R): one key for all heads
    const kRope = applyRope(kRopeRaw, rope, start) as tf.Tensor4D;
    const qNope = N > 0 ? sliceLast(q, 0, N) : undefined; // (B, H, T, N)
    const qRope = applyRope(sliceLast(q, N, D), rope, start) as tf.Tensor4D; // (B, H, T, R)
    return { qNope, qRope, kNope, kRope, v };
  }

  const out = (o: tf.Tensor4D) => linear(mergeHeads(o), w('w_o') as tf.Tensor2D); // (B, T, C)

  /** (B, H, S, D) per-head keys with the shared RoPE key copied into every head (the 'full' layout). */
  function expandKeys(kNope: tf.Tensor4D | undefined, kRope: tf.Tensor4D): tf.Tensor4D {
    const shared = tf.tile(kRope, [1, H, 1, 1]) as tf.Tensor4D; // (B, H, S, R)
    return kNope ? (tf.concat([kNope, shared], -1) as tf.Tensor4D) : shared;
  }

  /** The score terms: each head's no-RoPE part (absent when N = 0), then the shared RoPE key (B, 1, S, R), broadcast. */
  function terms(qNope: tf.Tensor4D | undefined, kNope: tf.Tensor4D | undefined, qRope: tf.Tensor4D, kRope: tf.Tensor4D): ScoreTerm[] {
    return [...(qNope && kNope ? [{ q: qNope, k: kNope }] : []), { q: qRope, k: kRope }];
  }

  /**
   * x + attention(LN(x)) for a decode step on the step kernels (lib/ops/decode-linear.ts): LN with W_qv and W_k in one
   * projection whose row (B, t, 2·H·D + H·N + R) is [Q heads | V heads | per-head no-RoPE keys | the shared RoPE key],
   * read by column where the op path sliced it: the queries gathered (their RoPE tails rotated), the cache written
   * from the row (the shared key rotated as it is written, once per token), the fused attention, and W_o with the
   * residual. The cache holds what the op path's does, under the same names, so either path continues the other's.
   */
  function residualStep(x: tf.Tensor3D, norm: LayerNormWeights, cache: LayerCache, start: number) {
    const [B, t] = x.shape;
    if (!hasDecodeStepKernels(B * t)) return null;
    checkStart(cache, start);
    return tidyKeep(() => {
      const row = decodeLinear(x, [w('w_qv'), w('w_k')] as tf.Tensor2D[], { norm }) as tf.Tensor3D; // (B, t, 2·H·D + H·N + R)
      const K0 = 2 * H * D; // where the keys start in the row
      const kNopeRows = { src: row, offset: K0, stride: N, width: N, rotary: 0 }; // head h: columns K0 + h·N ..
      const kRopeRows = { src: row, offset: K0 + H * N, stride: 0, width: R, rotary: R }; // the shared key, rotated
      const vRows = { src: row, offset: H * D, stride: D, width: D, rotary: 0 };
      const outRes = (o: tf.Tensor4D) => decodeLinear(mergeHeads(o), [w('w_o') as tf.Tensor2D], { residual: x }) as tf.Tensor3D; // (B, t, C)
      if (cache.mode === 'full') {
        const next = appendFrom(cache, {
          k: { heads: H, parts: [...(N > 0 ? [kNopeRows] : []), kRopeRows] }, // (B, H, S, D): the shared key in every head
          v: { heads: H, parts: [vRows] }, // (B, H, S, D)
        }, t, rope);
        const q = decodeHeads(row, H, { offset: 0, stride: D, width: D, rotary: R }, rope, start); // (B, H, t, D)
        const o = cachedAttention([{ q, k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale });
        return { y: outRes(o), cache: next };
      }
      const next = appendFrom(cache, {
        ...(N > 0 ? { kNope: { heads: H, parts: [kNopeRows] } } : {}), // (B, H, S, N)
        kRope: { heads: 1, parts: [kRopeRows] }, // (B, 1, S, R)
        v: { heads: H, parts: [vRows] }, // (B, H, S, D)
      }, t, rope);
      const qNope = N > 0 ? decodeHeads(row, H, { offset: 0, stride: D, width: N, rotary: 0 }) : undefined; // (B, H, t, N)
      const qRope = decodeHeads(row, H, { offset: N, stride: D, width: R, rotary: R }, rope, start); // (B, H, t, R)
      const s = terms(qNope, next.tensors.kNope as tf.Tensor4D | undefined, qRope, next.tensors.kRope as tf.Tensor4D);
      return { y: outRes(cachedAttention(s, next.tensors.v as tf.Tensor4D, { qStart: start, scale })), cache: next };
    });
  }

  return {
    residualStep,
    forward: (x) =>
      tf.tidy(() => {
        const p = project(x, 0);
        return out(causalAttention(terms(p.qNope, p.kNope, p.qRope, p.kRope), p.v, { qStart: 0, scale }));
      }),
    emptyCache: (_batch: number, mode: CacheMode) => emptyCache(checkCacheMode(c, mode)),
    step(x, cache: LayerCache, start) {
      checkStart(cache, start);
      return tidyKeep(() => {
        const p = project(x, start);
        const t = x.shape[1];
        const q = p.qNope ? (tf.concat([p.qNope, p.qRope], -1) as tf.Tensor4D) : p.qRope; // (B, H, t, D)
        if (cache.mode === 'full') {
          const next = appendAll(cache, { k: expandKeys(p.kNope, p.kRope), v: p.v }, t);
          const o = cachedAttention([{ q, k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale });
          return { y: out(o), cache: next };
        }
        const next = appendAll(cache, { ...(p.kNope ? { kNope: p.kNope } : {}), kRope: p.kRope, v: p.v }, t);
        const kNope = next.tensors.kNope as tf.Tensor4D | undefined;
        const s = terms(p.qNope, kNope, p.qRope, next.tensors.kRope as tf.Tensor4D);
        return { y: out(cachedAttention(s, next.tensors.v as tf.Tensor4D, { qStart: start, scale })), cache: next };
      });
    },
  };
}
