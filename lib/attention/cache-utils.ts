// Helpers for append-only caches: time is axis 2 of every cached tensor, (B, Hk, S, ·) per head and (B, 1, S, ·)
// shared. Where the backend writes a buffer in place (the cache-write op of lib/ops/cache-write.ts has kernels on
// cpu and webgpu), each cached tensor is a buffer (B, ·, capacity, ·) with capacity ≥ length, grown CACHE_GRANULE
// rows at a time and written in place, so a step copies only its own t rows instead of the whole cache
// (tf.concat). The attention then reads the buffer: rows ≥ length are zeros at positions after every query, so the
// causal mask removes them exactly (exp(-1e9) is 0 in fp32; the fused decode attention never reads them).
// Elsewhere the cache is appended by concat as before.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './types';
import type { CacheMode } from '../costs/cache-modes';
import { type CacheWriteFromOptions, type CacheWriteSource, cacheWrite, cacheWriteFrom, hasCacheWriteKernel } from '../ops/cache-write';
import type { RopeTables } from '../ops/rope';

/**
 * Time rows a buffer grows by. The unfused attention reads up to CACHE_GRANULE − 1 unwritten rows a step, and a
 * buffer is copied once per CACHE_GRANULE tokens (S/64 rows a step amortised): both small next to the S rows a
 * step reads. (A buffer of the decode's whole length at once would make every early step of a long generation
 * read all of it on the unfused path; the fused decode attention reads only written rows either way.)
 */
export const CACHE_GRANULE = 64;

export function checkStart(cache: LayerCache, start: number): void {
  if (start !== cache.length) {
    throw new RangeError(`cache write at position ${start}, but the cache holds ${cache.length} tokens; writes append: decode from position ${cache.length}`);
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
 * buf (B, X, cap, W) holding `length` rows, with room for add (B, X, t, W) at row `length`, written in place: the
 * result holds buf's storage (the decode disposes the old handle as replaced). A buffer too small is replaced by a
 * larger one (new storage: the caller's old buffer is left as it was).
 */
function writeBuffer(buf: tf.Tensor | undefined, add: tf.Tensor, length: number, reserve?: number): tf.Tensor {
  return writeRows(buf, add.shape as Shape4, add.dtype, length, (into) => cacheWrite(into, add, length), reserve);
}

/** Rows a buffer written in place holds for `need` rows: whole CACHE_GRANULEs, and at least `reserve` rows. */
export function cacheCapacity(need: number, reserve = 0): number {
  return Math.ceil(Math.max(need, reserve) / CACHE_GRANULE) * CACHE_GRANULE;
}

type Shape4 = [number, number, number, number];

/**
 * writeBuffer for rows (B, X, t, W) of `dtype` that `write` puts into the buffer it is given at row `length` (in
 * place: it returns that buffer's storage), after growing the buffer where it is too small (to at least `reserve` rows).
 */
function writeRows(buf: tf.Tensor | undefined, [B, X, t, W]: Shape4, dtype: tf.DataType, length: number, write: (into: tf.Tensor) => tf.Tensor, reserve?: number): tf.Tensor {
  const need = length + t;
  if (buf && (buf.shape[2] as number) >= need) return write(buf);
  const cap = cacheCapacity(need, reserve);
  // tf.fill, not tf.zeros: zeros is made on the host and uploaded, which at 1 GB (batch 1 × 32k of MHA's K and V)
  // cost 1.3 s a growth on the H100 (2026-12-07); Fill is a kernel on the device.
  let grown = tf.fill([B, X, cap, W], 0, dtype); // (B, X, cap, W)
  if (buf && length > 0) {
    const copied = cacheWrite(grown, buf, 0); // the old buffer's rows, its unwritten ones zeros
    grown.dispose(); // the handle only: `copied` holds the storage
    grown = copied;
  }
  const written = write(grown);
  grown.dispose();
  return written;
}

/** A cached tensor's new rows as gathered from projections' rows (lib/ops/cache-write.ts cacheWriteFrom). */
export interface RowsFrom {
  /** X of the cached tensor (B, X, S, W): heads, or 1 when shared. */
  heads: number;
  parts: CacheWriteSource[];
  norm?: CacheWriteFromOptions['norm'];
}

/**
 * appendAll for a decode step whose new rows are gathered from projections' rows (a decode step on a backend with the
 * step kernels, lib/ops/decode-linear.ts hasDecodeStepKernels): each named tensor's t rows written in place, one
 * kernel each. Backends without in-place writes are not given this path.
 */
export function appendFrom(cache: LayerCache, add: Record<string, RowsFrom>, tokens: number, rope?: RopeTables): LayerCache {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, r] of Object.entries(add)) {
    const [B, t] = r.parts[0].src.shape;
    const W = r.parts.reduce((s, p) => s + p.width, 0);
    tensors[k] = writeRows(cache.tensors[k], [B, r.heads, t, W], 'float32', cache.length, (into) => cacheWriteFrom(into, r.parts, cache.length, { rope, norm: r.norm }), cache.reserve);
  }
  return { ...cache, length: cache.length + tokens, tensors };
}

/**
 * Appends each named tensor of `add` (B, ·, t, ·) to the cache's tensor of the same name. With in-place
 * writes the returned cache holds the same storage as `cache` (written past its length), so the old value
 * must not be read again; without them both values are independent.
 */
export function appendAll(cache: LayerCache, add: Record<string, tf.Tensor>, tokens: number): LayerCache {
  const tensors: Record<string, tf.Tensor> = {};
  const inPlace = hasCacheWriteKernel();
  for (const [k, t] of Object.entries(add)) {
    tensors[k] = inPlace ? writeBuffer(cache.tensors[k], t, cache.length, cache.reserve) : appendTime(cache.tensors[k], t);
  }
  return { ...cache, length: cache.length + tokens, tensors }; // mode, quant, memo and reserve carry over
}

/** The tensors of `old` that `next` does not hold too: what a step may dispose once `next` replaces `old`. */
export function replacedTensors(old: LayerCache, next: LayerCache | undefined): tf.Tensor[] {
  const kept = new Set(next ? Object.values(next.tensors) : []);
  return Object.values(old.tensors).filter((t) => !kept.has(t));
}
