// Helpers for append-only caches: time is axis 2 of every cached tensor, (B, Hk, S, ·) per head and (B, 1, S, ·)
// shared. Where the backend can write a buffer in place (lib/ops/cache-write.ts: the cpu backend), each
// cached tensor is a buffer (B, ·, capacity, ·) with capacity ≥ length, grown CACHE_GRANULE rows at a time and
// written in place, so a step copies only its own t rows instead of the whole cache (tf.concat). The attention
// then reads the whole buffer: rows ≥ length are zeros at positions after every query, so the causal mask
// already removes them, exactly (exp(-1e9) is 0 in fp32). Elsewhere the cache is appended by concat as before.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './types';
import type { CacheMode } from '../costs/cache-modes';
import { inPlaceCacheWrites, writeTimeInPlace } from '../ops/cache-write';

/**
 * Time rows a buffer grows by. Every step attends to up to CACHE_GRANULE − 1 unwritten rows, and a buffer is
 * copied once per CACHE_GRANULE tokens (S/64 rows a step amortised): both small next to the S rows a step reads.
 */
export const CACHE_GRANULE = 64;

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

/**
 * buf (B, X, cap, W) holding `length` rows, with room for add (B, X, t, W) at row `length`, written in place.
 * A buffer too small is replaced by a larger one (a fresh tensor: the caller's old one is left as it was).
 */
function writeBuffer(buf: tf.Tensor | undefined, add: tf.Tensor, length: number): tf.Tensor {
  const [B, X, t, W] = add.shape;
  const need = length + t;
  if (!buf || (buf.shape[2] as number) < need) {
    const cap = Math.ceil(need / CACHE_GRANULE) * CACHE_GRANULE;
    const grown = tf.zeros([B, X, cap, W], add.dtype); // (B, X, cap, W)
    if (buf && length > 0) writeTimeInPlace(grown, buf, 0); // the old buffer's rows, unwritten ones zeros
    buf = grown;
  }
  writeTimeInPlace(buf, add, length);
  return buf;
}

/**
 * Appends each named tensor of `add` (B, ·, t, ·) to the cache's tensor of the same name. With in-place
 * writes the returned cache holds the same buffers as `cache` (written past its length), so the old value
 * must not be read again; without them both values are independent.
 */
export function appendAll(cache: LayerCache, add: Record<string, tf.Tensor>, tokens: number): LayerCache {
  const tensors: Record<string, tf.Tensor> = {};
  const inPlace = inPlaceCacheWrites();
  for (const [k, t] of Object.entries(add)) {
    tensors[k] = inPlace ? writeBuffer(cache.tensors[k], t, cache.length) : appendTime(cache.tensors[k], t);
  }
  return { ...cache, length: cache.length + tokens, tensors }; // mode and quant carry over
}

/** The tensors of `old` that `next` does not hold too: what a step may dispose once `next` replaces `old`. */
export function replacedTensors(old: LayerCache, next: LayerCache | undefined): tf.Tensor[] {
  const kept = new Set(next ? Object.values(next.tensors) : []);
  return Object.values(old.tensors).filter((t) => !kept.has(t));
}
