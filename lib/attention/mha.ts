// MHA, GQA and MQA: one implementation parameterised by the number of KV heads (nKvHeads = H, 1 < Hk < H, 1).
// Query head h reads KV head floor(h / G), G = H / Hk, so adjacent query heads share a KV head.
// Cache ('kv'): k (B, Hk, S, D) already rotated when RoPE is on, v (B, Hk, S, D).
// RoPE: the whole head (ropeDim 0 or D), or partial RoPE on the last ropeDim dims of each head.
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

export function createMhaFamily(c: ModelConfig, w: WeightLookup, rope?: RopeTables): AttentionLayer {
  const { headDim: D, kvHeads: Hk, groupSize: G, rotaryDim: R } = deriveSizes(c);
  const H = c.nHeads;
  const scale = 1 / Math.sqrt(D);

  /**
   * Partial RoPE (0 < R < D) rotates the last R dims of each head, [nope N | rope R] as MLA's query heads, so
   * a converted model keeps the same layout; R = D rotates the whole head as before.
   */
  function rotate(t: tf.Tensor4D, start: number): tf.Tensor4D {
    if (R === D) return applyRope(t, rope!, start) as tf.Tensor4D;
    return tf.concat([sliceLast(t, 0, D - R), applyRope(sliceLast(t, D - R, D), rope!, start)], -1) as tf.Tensor4D; // (B, Hk|H, T, D)
  }

  function project(x: tf.Tensor3D, start: number) {
    let q = splitHeads(linear(x, w('w_q') as tf.Tensor2D), H); // (B, H, T, D)
    let k = splitHeads(linear(x, w('w_k') as tf.Tensor2D), Hk); // (B, Hk, T, D)
    const v = splitHeads(linear(x, w('w_v') as tf.Tensor2D), Hk); // (B, Hk, T, D)
    if (rope) {
      q = rotate(q, start);
      k = rotate(k, start);
    }
    return { q, k, v };
  }

  /** `core` is causalAttention for a whole sequence, cachedAttention for a step against the cache. */
  function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, qStart: number, core = causalAttention): tf.Tensor3D {
    const [B, , T] = q.shape;
    // H = Hk·G heads in order, so (B, H, T, D) is already (B, Hk, G·T, D) in memory: a free regroup.
    const qg = tf.reshape(q, [B, Hk, G * T, D]) as tf.Tensor4D; // (B, Hk, G·T, D)
    const o = core([{ q: qg, k }], v, { qStart, scale, groups: G }); // (B, Hk, G·T, D)
    const heads = tf.reshape(o, [B, H, T, D]) as tf.Tensor4D; // (B, H, T, D)
    return linear(mergeHeads(heads), w('w_o') as tf.Tensor2D); // (B, T, C)
  }

  /**
   * x + attention(LN(x)) for a decode step on the step kernels (lib/ops/decode-linear.ts): LN and Q, K, V in one
   * projection whose row (B, t, H·D + 2·Hk·D) the query gather and the two cache writes read by column (rotating q
   * and k on the way), the fused attention, and W_o with the residual: 6 dispatches where the ops took 12.
   */
  function residualStep(x: tf.Tensor3D, norm: LayerNormWeights, cache: LayerCache, start: number) {
    const [B, t] = x.shape;
    if (!hasDecodeStepKernels(B * t)) return null;
    checkStart(cache, start);
    return tidyKeep(() => {
      const qkv = decodeLinear(x, [w('w_q'), w('w_k'), w('w_v')] as tf.Tensor2D[], { norm }) as tf.Tensor3D; // (B, t, H·D + 2·Hk·D)
      const rot = rope ? R : 0;
      const q = decodeHeads(qkv, H, { offset: 0, stride: D, width: D, rotary: rot }, rope, start); // (B, H, t, D)
      const next = appendFrom(cache, {
        k: { heads: Hk, parts: [{ src: qkv, offset: H * D, stride: D, width: D, rotary: rot }] }, // (B, Hk, S, D) rotated
        v: { heads: Hk, parts: [{ src: qkv, offset: H * D + Hk * D, stride: D, width: D, rotary: 0 }] }, // (B, Hk, S, D)
      }, t, rope);
      const qg = tf.reshape(q, [B, Hk, G * t, D]) as tf.Tensor4D; // (B, Hk, G·t, D): a free regroup, as in attend
      const o = cachedAttention([{ q: qg, k: next.tensors.k as tf.Tensor4D }], next.tensors.v as tf.Tensor4D, { qStart: start, scale, groups: G }); // (B, Hk, G·t, D)
      const heads = tf.reshape(o, [B, H, t, D]) as tf.Tensor4D; // (B, H, t, D)
      return { y: decodeLinear(mergeHeads(heads), [w('w_o') as tf.Tensor2D], { residual: x }) as tf.Tensor3D, cache: next };
    });
  }

  return {
    residualStep,
    forward: (x) =>
      tf.tidy(() => {
        const { q, k, v } = project(x, 0);
        return attend(q, k, v, 0);
      }),
    emptyCache: (_batch: number, mode: CacheMode) => emptyCache(checkCacheMode(c, mode)),
    step(x, cache: LayerCache, start) {
      checkStart(cache, start);
      return tidyKeep(() => {
        const { q, k, v } = project(x, start);
        const next = appendAll(cache, { k, v }, x.shape[1]); // k, v: (B, Hk, S + t, D)
        const y = attend(q, next.tensors.k as tf.Tensor4D, next.tensors.v as tf.Tensor4D, start, cachedAttention);
        return { y, cache: next };
      });
    },
  };
}
