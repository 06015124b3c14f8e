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
import { appendAll, checkStart, emptyCache } from './cache-utils';
import { cachedAttention, causalAttention } from './core';
import { RopeTables, applyRope } from './rope';
import type { AttentionLayer, LayerCache, WeightLookup } from './types';
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

  return {
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
