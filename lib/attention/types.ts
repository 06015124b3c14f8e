// One interface for every attention variant: a full-sequence causal forward for training, and a cached step
// for decoding. Each variant documents its cache layout in its own file.
import type * as tf from '@tensorflow/tfjs-core';
import type { CacheMode } from '../costs/cache-modes';

/** Looks up one of the layer's weights by its checkpoint name without the `blocks.i.attn.` prefix. */
export type WeightLookup = (name: string) => tf.Tensor;

/** A layer's cache: an explicit value, replaced (never mutated) by every step. */
export interface LayerCache {
  readonly mode: CacheMode;
  /** Tokens written so far; the next write starts at this position. */
  readonly length: number;
  /** The cached tensors, time on axis 2 for per-head tensors (B, Hk, S, ·) and axis 1 for shared ones (B, S, ·). */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
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
