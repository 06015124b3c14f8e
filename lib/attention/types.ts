// One interface for every attention variant: a full-sequence causal forward for training, and a cached step
// for decoding. Each variant documents its cache layout in its own file.
import type * as tf from '@tensorflow/tfjs-core';
import type { CacheMode } from '../costs/cache-modes';
import { CacheQuant, QUANT_CODE_BITS, QUANT_SCALE_BYTES, quantGroups } from '../costs/kv-cache';
import type { WeightMemo } from './weight-memo';

/** Looks up one of the layer's weights by its checkpoint name without the `blocks.i.attn.` prefix. */
export type WeightLookup = (name: string) => tf.Tensor;

/**
 * A layer's cache: an explicit value that every step replaces. Where the backend writes in place (cache-utils.ts:
 * the cpu and webgpu backends), the next value holds the same storage written past this one's length, so a step
 * consumes the value it is given: read only the latest.
 */
export interface LayerCache {
  readonly mode: CacheMode;
  /** Tokens written so far; the next write starts at this position. */
  readonly length: number;
  /**
   * The cached tensors, time on axis 2: per-head (B, Hk, S, ·), shared (B, 1, S, ·). S is the buffer's
   * capacity, ≥ length: rows length .. S − 1 are zeros, not yet written (equal to length on backends that
   * append by concat).
   */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
  /**
   * MLA's 'latent'/'absorbed' caches only: the format the latent `latent` (B, 1, S, Rkv) is stored in. Absent or
   * format 'none': fp32. Quantized (lib/quant): each row is quantized once as it is written and `latent` holds the
   * values its codes and per-group scales stand for, dequantized at the write — the numbers a kernel that
   * dequantizes as it reads would compute, without dequantizing every cached row again at every step. Its storage
   * (cacheStorageBytes) is the format's: codes at the format's bits and one fp32 scale per group. The RoPE key
   * `kRope` stays fp32 either way.
   */
  readonly quant?: CacheQuant;
  /**
   * Tensors derived from the layer's weights once per decode (absorbed MLA's per-head W_UK and W_UV), shared by
   * every value of this decode's cache and disposed with the decode state (weight-memo.ts). Not cache contents:
   * cacheElements and cacheStorageBytes leave it out.
   */
  readonly memo?: WeightMemo;
  /**
   * Rows a buffer written in place is allocated with at least (GPT.startDecode's `reserve`: the decode's known final
   * length): the first write makes a buffer that holds the whole decode, which then never grows, so no step copies
   * the cache. Absent: buffers grow CACHE_GRANULE rows at a time. Ignored where the backend appends by concat.
   */
  readonly reserve?: number;
}

export interface AttentionLayer {
  /** x (B, T, C) at positions 0 .. T-1 → (B, T, C), causal. */
  forward(x: tf.Tensor3D): tf.Tensor3D;
  /** The cache before any token, for `batch` sequences. */
  emptyCache(batch: number, mode: CacheMode): LayerCache;
  /**
   * x (B, t, C) holds t new tokens at positions start .. start + t - 1; start must equal cache.length.
   * Returns their outputs (B, t, C) and the cache with them appended. Does not dispose the old cache.
   */
  step(x: tf.Tensor3D, cache: LayerCache, start: number): { y: tf.Tensor3D; cache: LayerCache };
  /**
   * A decode step of the whole residual branch, fused: x (B, t, C) is the residual stream before the block's
   * LayerNorm (`norm`), the result x + step(LN(x)).y. Null where the fused step does not apply (the backend lacks the
   * step kernels, too many rows, a quantized cache): the caller then runs LayerNorm, step and the add itself.
   */
  residualStep?(x: tf.Tensor3D, norm: LayerNormWeights, cache: LayerCache, start: number): { y: tf.Tensor3D; cache: LayerCache } | null;
}

export interface LayerNormWeights {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/** Rows of t (time on axis 2) that hold written tokens: a preallocated buffer counts only its filled part. */
const writtenFraction = (cache: LayerCache, t: tf.Tensor) => (t.shape[2] ? cache.length / t.shape[2] : 1);

/** Elements a cache holds for its tokens: what the decode really wrote for them (a buffer's spare rows aside). */
export function cacheElements(cache: LayerCache): number {
  return Object.values(cache.tensors).reduce((a, t) => a + t.size * writtenFraction(cache, t), 0);
}

/**
 * Bytes a cache's contents occupy in their storage format: fp32 tensors at 4 bytes an element, and a quantized
 * latent at its format's bytes a row (codes at the format's bits plus the group scales; tfjs holds the dequantized
 * values in fp32, a packed buffer would hold this).
 */
export function cacheStorageBytes(cache: LayerCache): number {
  let bytes = 0;
  for (const [name, t] of Object.entries(cache.tensors)) {
    if (name === 'latent' && cache.quant && cache.quant.format !== 'none') {
      const width = t.shape[t.shape.length - 1];
      const rows = (t.size / width) * writtenFraction(cache, t);
      bytes += rows * (Math.ceil((width * QUANT_CODE_BITS[cache.quant.format]) / 8) + quantGroups(width, cache.quant.groupSize) * QUANT_SCALE_BYTES);
    } else {
      bytes += t.size * writtenFraction(cache, t) * 4;
    }
  }
  return bytes;
}
