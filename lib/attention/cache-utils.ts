// Helpers for append-only caches: time is axis 2 of per-head tensors (B, Hk, S, ·).
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './types';
import type { CacheMode } from '../costs/cache-modes';

export function checkStart(cache: LayerCache, start: number): void {
  if (start !== cache.length) {
    throw new RangeError(`cache write at position ${start}, but the cache holds ${cache.length} tokens; writes append`);
  }
}

/** old ++ add along the time axis; the first write just takes `add`. */
export function appendTime(old: tf.Tensor | undefined, add: tf.Tensor, axis = 2): tf.Tensor {
  return old ? tf.concat([old, add], axis) : add;
}

export function emptyCache(mode: CacheMode): LayerCache {
  return { mode, length: 0, tensors: {} };
}

/** Appends each named tensor of `add` to the cache's tensor of the same name. */
export function appendAll(cache: LayerCache, add: Record<string, tf.Tensor>, tokens: number): LayerCache {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(add)) tensors[k] = appendTime(cache.tensors[k], t);
  return { ...cache, length: cache.length + tokens, tensors }; // mode and quant carry over
}
