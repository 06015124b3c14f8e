// Writing new tokens into a preallocated decode cache: in buf (B, X, capacity, W), time rows start .. start + t − 1
// (axis 2) take the values of rows (B, X, t, W). The op, its kernel's name and attributes, and its reference.
// tfjs ops never change a tensor, so an append through tf.concat copies the whole cache every step. A backend's
// kernel (lib/backend/cpu/kernels/cache-write.ts, lib/backend/webgpu/kernels/cache-write.ts) instead writes the
// t·W elements of each (B, X) row into buf's own storage and returns a tensor on that same storage, as Reshape
// returns a view: the result and buf then hold the written buffer, and the caller keeps the result and disposes
// buf. The reference (any backend) builds the same values as a new tensor, by slices and a concat.
// Shape legend: B batch, X heads of the cached tensor (1 when shared), t rows written, W row width.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';
import { markWritten } from './data-version';

/** Inputs buf (B, X, capacity, W), rows (B, X, t, W) of buf's dtype; attrs start; output buf's storage, written. */
export const CACHE_WRITE_KERNEL = 'MlaCacheWrite';

export interface CacheWriteAttrs {
  start: number;
}

/** Whether the active backend writes caches in place (else cacheWrite copies, and caches append by concat). */
export function hasCacheWriteKernel(): boolean {
  return hasKernel(CACHE_WRITE_KERNEL);
}

/** Every way a write can be wrong, as one line naming the thing and the fix. */
export function checkCacheWrite(buf: tf.Tensor, rows: tf.Tensor, start: number): void {
  if (buf.rank !== 4 || rows.rank !== 4) {
    throw new Error(`cache write: the buffer must be (B, X, capacity, W) and the rows (B, X, t, W), got (${buf.shape}) and (${rows.shape}); reshape both to rank 4`);
  }
  const [B, X, cap, W] = buf.shape;
  const [b, x, t, w] = rows.shape;
  if (b !== B || x !== X || w !== W || rows.dtype !== buf.dtype) {
    throw new Error(`cache write: rows (${rows.shape}) ${rows.dtype} do not fit the buffer (${buf.shape}) ${buf.dtype}; B, X, W and the dtype must match`);
  }
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`cache write: position ${start} must be an integer ≥ 0`);
  if (start + t > cap) {
    throw new RangeError(`cache write: rows ${start} .. ${start + t - 1} are past the buffer's capacity ${cap}; grow the buffer first (cache-utils.ts) or write at most ${Math.max(0, cap - start)} rows at ${start}`);
  }
}

/**
 * buf (B, X, capacity, W) with rows start .. start + t − 1 replaced by rows (B, X, t, W). With the backend's kernel
 * the result is buf's own storage written in place (buf sees the write too; dispose buf, keep the result); with
 * the reference it is a new tensor and buf is unchanged. buf must hold its storage alone: a reshape or clone of it
 * would change too, so that is refused.
 */
export function cacheWrite(buf: tf.Tensor, rows: tf.Tensor, start: number): tf.Tensor {
  checkCacheWrite(buf, rows, start);
  if (!hasCacheWriteKernel()) return cacheWriteReference(buf, rows, start);
  const holders = tf.backend().refCount(buf.dataId);
  if (holders > 1) {
    throw new Error(`cache write: the buffer (${buf.shape}) shares its storage with ${holders - 1} other tensor(s) (a reshape or clone of it); dispose them before writing, or write into a buffer of its own`);
  }
  const out = tf.engine().runKernel(CACHE_WRITE_KERNEL, { buf, rows }, { start } satisfies CacheWriteAttrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  markWritten(out);
  return out;
}

/** cacheWrite with tfjs ops: [buf rows before start | rows | buf rows after], a new tensor. */
export function cacheWriteReference(buf: tf.Tensor, rows: tf.Tensor, start: number): tf.Tensor {
  checkCacheWrite(buf, rows, start);
  return tf.tidy(() => {
    const cap = buf.shape[2] as number;
    const end = start + (rows.shape[2] as number);
    const parts: tf.Tensor[] = [];
    if (start > 0) parts.push(tf.slice(buf, [0, 0, 0, 0], [-1, -1, start, -1])); // (B, X, start, W)
    parts.push(rows); // (B, X, t, W)
    if (end < cap) parts.push(tf.slice(buf, [0, 0, end, 0], [-1, -1, cap - end, -1])); // (B, X, cap − end, W)
    return parts.length === 1 ? tf.clone(rows) : tf.concat(parts, 2); // (B, X, cap, W)
  });
}
