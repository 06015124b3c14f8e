// One interface for every attention variant: a full-sequence causal forward for training, and a cached step
// for decoding. Each variant documents its cache layout in its own file.
import type * as tf from '@tensorflow/tfjs-core';
import type { CacheMode } from '../costs/cache-modes';
import { CacheQuant, QUANT_CODE_BITS } from '../costs/kv-cache';

/** Looks up one of the layer's weights by its checkpoint name without the `blocks.i.attn.` prefix. */
export type WeightLookup = (name: string) => tf.Tensor;

/** A layer's cache: an explicit value, replaced (never mutated) by every step. */
export interface LayerCache {
  readonly mode: CacheMode;
  /** Tokens written so far; the next write starts at this position. */
  readonly length: number;
  /** The cached tensors, time on axis 2 for per-head tensors (B, Hk, S, ·) and axis 1 for shared ones (B, S, ·). */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
  /**
   * MLA's 'latent'/'absorbed' caches only: how the latent is stored. Absent or format 'none': `latent`
   * (B, 1, S, Rkv) in fp32. Quantized: `latentCodes` (B, 1, S, Rkv) and `latentScales` (B, 1, S, G) instead
   * (lib/quant); the RoPE key `kRope` stays fp32 either way.
   */
  readonly quant?: CacheQuant;
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
}

/** Elements held by a cache: what the decode really allocated for it. */
export function cacheElements(cache: LayerCache): number {
  return Object.values(cache.tensors).reduce((a, t) => a + t.size, 0);
}

/**
 * Bytes a cache's contents occupy in their storage format: fp32 tensors at 4 bytes an element, and quantized
 * latent codes at their format's bits (tfjs holds them in 32-bit tensors; a packed buffer would hold this).
 */
export function cacheStorageBytes(cache: LayerCache): number {
  let bytes = 0;
  for (const [name, t] of Object.entries(cache.tensors)) {
    if (name === 'latentCodes' && cache.quant) {
      const width = t.shape[t.shape.length - 1];
      bytes += (t.size / width) * Math.ceil((width * QUANT_CODE_BITS[cache.quant.format]) / 8);
    } else {
      bytes += t.size * 4;
    }
  }
  return bytes;
}
