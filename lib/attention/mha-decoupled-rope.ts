// MHA with decoupled RoPE, as in the study: Q and V come from one projection; each query head is
// [nopeDim no-RoPE dims | rotaryDim RoPE dims]; each key head is [its own no-RoPE part | one RoPE key shared by
// all heads]. The shared key is projected from x and rotated, so it is computed and cached once per token.
// Caches: 'kv'   kNope (B, H, S, nope), kRope (B, 1, S, r), v (B, H, S, D)  — nothing repeated;
//         'full' k (B, H, S, D) with the shared RoPE key copied into every head, v (B, H, S, D) — the study's count.
import * as tf from '@tensorflow/tfjs-core';
import { ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode } from '../costs/cache-modes';
import { linear, mergeHeads, sliceLast, splitHeads, tidyKeep } from '../model/layers';
import { appendAll, checkStart, emptyCache } from './cache-utils';
import { cachedAttention, causalAttention } from './core';
import { RopeTables, applyRope } from './rope';
import type { AttentionLayer, LayerCache, WeightLookup } from './types';

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
    const kNope = splitHeads(sliceLast(kk, 0, H * N), H); // (B, H, T, N)
    const kRopeRaw = tf.reshape(sliceLast(kk, H * N, H * N + R), [B, 1, T, R]); // (B, 1, T, R): one key for all heads
    const kRope = applyRope(kRopeRaw, rope, start) as tf.Tensor4D;
    const qNope = sliceLast(q, 0, N); // (B, H, T, N)
    const qRope = applyRope(sliceLast(q, N, D), rope, start) as tf.Tensor4D; // (B, H, T, R)
    return { qNope, qRope, kNope, kRope, v };
  }

  const out = (o: tf.Tensor4D) => linear(mergeHeads(o), w('w_o') as tf.Tensor2D); // (B, T, C)

  /** (B, H, S, D) per-head keys with the shared RoPE key copied into every head (the 'full' layout). */
  function expandKeys(kNope: tf.Tensor4D, kRope: tf.Tensor4D): tf.Tensor4D {
    return tf.concat([kNope, tf.tile(kRope, [1, H, 1, 1])], -1) as tf.Tensor4D;
  }

  return {
    forward: (x) =>
      tf.tidy(() => {
        const p = project(x, 0);
        const terms = [
          { q: p.qNope, k: p.kNope },
          { q: p.qRope, k: p.kRope }, // (B, 1, T, R) broadcast over heads
        ];
        return out(causalAttention(terms, p.v, { qStart: 0, scale }));
      }),
    emptyCache: (_batch: number, mode: CacheMode) => emptyCache(checkCacheMode(c, mode)),
    step(x, cache: LayerCache, start) {
      checkStart(cache, start);
      return tidyKeep(() => {
        const p = project(x, start);
        const t = x.shape[1];
        const q = tf.concat([p.qNope, p.qRope], -1) as tf.Tensor4D; // (B, H, t, D)
        if (cache.mode === 'full') {
          const next = appendAll(cache, { k: expandKeys(p.kNope, p.kRope), v: p.v }, t);
          const o = cachedAttention([{ q, k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale });
          return { y: out(o), cache: next };
        }
        const next = appendAll(cache, { kNope: p.kNope, kRope: p.kRope, v: p.v }, t);
        const terms = [
          { q: p.qNope, k: next.tensors.kNope as tf.Tensor4D },
          { q: p.qRope, k: next.tensors.kRope as tf.Tensor4D },
        ];
        return { y: out(cachedAttention(terms, next.tensors.v as tf.Tensor4D, { qStart: start, scale })), cache: next };
      });
    },
  };
}
