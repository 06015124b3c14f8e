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
import { type ColumnSegment, checkSegment, rotateTail, segmentColumns } from './decode-heads';
import { layerNorm } from './layer-norm';
import type { RopeTables } from './rope';

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

// The same write, its rows gathered from projections' rows: with a fused projection (./decode-linear.ts) K and V
// (or MLA's latent and RoPE key) are column blocks of one row, and a step would otherwise slice, reshape, rotate,
// normalise and concat them (2-6 kernels per cached tensor) before writing. Each destination row (B, X, ·, W) is one
// or two segments side by side (./decode-heads.ts: head x's columns at offset + x·stride, the tail rotated), the
// second from its own source: MLA's 'full' key is [kNope (N) from W_ukv's row | the shared RoPE key (R) from W_dkv's].
// With `norm` the single segment's columns are LayerNormed first (MLA's latent, X = 1). A backend's kernel
// (lib/backend/webgpu/kernels/decode-heads.ts) gathers and writes in place in one dispatch; the reference builds the
// rows with tfjs ops and writes them with cacheWrite.

/** Inputs buf, src0 [, src1] [, cos, sin] [, gamma, beta]; attrs CacheWriteFromAttrs; output buf's storage, written. */
export const CACHE_WRITE_FROM_KERNEL = 'MlaCacheWriteFrom';

export interface CacheWriteSource extends ColumnSegment {
  /** (B, t, ·): the rows' source, t new tokens of each sequence. */
  src: tf.Tensor3D;
}

export interface CacheWriteFromAttrs {
  start: number;
  segments: number;
  offset0: number;
  stride0: number;
  width0: number;
  rotary0: number;
  offset1: number;
  stride1: number;
  width1: number;
  rotary1: number;
  /** 1: LayerNorm segment 0 (gamma, beta present). */
  norm: number;
  eps: number;
}

export interface CacheWriteFromOptions {
  rope?: RopeTables;
  norm?: { gamma: tf.Tensor1D; beta: tf.Tensor1D; eps?: number };
}

export function hasCacheWriteFromKernel(): boolean {
  return hasKernel(CACHE_WRITE_FROM_KERNEL);
}

function checkCacheWriteFrom(buf: tf.Tensor, parts: CacheWriteSource[], start: number, o: CacheWriteFromOptions): void {
  const what = 'cache write from rows';
  if (parts.length < 1 || parts.length > 2) throw new Error(`${what}: ${parts.length} segments; 1 or 2`);
  if (buf.rank !== 4) throw new Error(`${what}: the buffer must be (B, X, capacity, W), got (${buf.shape})`);
  const [B, X, , W] = buf.shape;
  const [b, t] = parts[0].src.shape;
  for (const p of parts) {
    checkSegment(what, p.src, p, X, o.rope, start);
    if (p.src.shape[0] !== b || p.src.shape[1] !== t || p.src.dtype !== buf.dtype) throw new Error(`${what}: sources (${parts.map((q) => q.src.shape).join('), (')}) must share (B, t) and the buffer's dtype`);
  }
  if (b !== B) throw new Error(`${what}: sources of batch ${b} for a buffer of ${B}`);
  const width = parts.reduce((s, p) => s + p.width, 0);
  if (width !== W) throw new Error(`${what}: segments of ${parts.map((p) => p.width).join(' + ')} columns for rows of ${W}`);
  if (o.norm && (parts.length !== 1 || X !== 1 || parts[0].rotary !== 0 || o.norm.gamma.size !== W)) {
    throw new Error(`${what}: LayerNorm takes one unrotated segment of a shared (X = 1) row with weights of its width ${W}`);
  }
}

/** The new rows (B, X, t, W) cacheWriteFrom writes, by tfjs ops. */
export function cacheRowsReference(buf: tf.Tensor, parts: CacheWriteSource[], start: number, o: CacheWriteFromOptions = {}): tf.Tensor4D {
  checkCacheWriteFrom(buf, parts, start, o);
  return tf.tidy(() => {
    const X = buf.shape[1] as number;
    const blocks = parts.map((p) => {
      let h = segmentColumns(p.src, X, p); // (B, X, t, w)
      if (o.norm) h = layerNorm(h, o.norm.gamma, o.norm.beta, o.norm.eps ?? 1e-5) as tf.Tensor4D;
      return rotateTail(h, p.rotary, o.rope, start);
    });
    return (blocks.length === 1 ? blocks[0] : tf.concat(blocks, -1)) as tf.Tensor4D; // (B, X, t, W)
  });
}

/**
 * cacheWrite of rows gathered from `parts`' sources: buf (B, X, capacity, W) with time rows start .. start + t − 1
 * written. As cacheWrite: with the backend's kernel buf's own storage (keep the result, dispose buf), else a new tensor.
 */
export function cacheWriteFrom(buf: tf.Tensor, parts: CacheWriteSource[], start: number, o: CacheWriteFromOptions = {}): tf.Tensor {
  checkCacheWriteFrom(buf, parts, start, o);
  const t = parts[0].src.shape[1];
  const [, , cap] = buf.shape;
  if (start + t > (cap as number)) throw new RangeError(`cache write from rows: rows ${start} .. ${start + t - 1} are past the buffer's capacity ${cap}; grow the buffer first`);
  if (!hasCacheWriteFromKernel()) {
    const rows = cacheRowsReference(buf, parts, start, o);
    const out = cacheWrite(buf, rows, start);
    rows.dispose();
    return out;
  }
  const holders = tf.backend().refCount(buf.dataId);
  if (holders > 1) throw new Error(`cache write from rows: the buffer (${buf.shape}) shares its storage with ${holders - 1} other tensor(s); write into a buffer of its own`);
  const inputs: Record<string, tf.Tensor> = { buf, src0: parts[0].src };
  if (parts[1]) inputs.src1 = parts[1].src;
  if (parts.some((p) => p.rotary > 0)) Object.assign(inputs, { cos: o.rope!.cos, sin: o.rope!.sin });
  if (o.norm) Object.assign(inputs, { gamma: o.norm.gamma, beta: o.norm.beta });
  const [p0, p1] = parts;
  const attrs: CacheWriteFromAttrs = {
    start, segments: parts.length, offset0: p0.offset, stride0: p0.stride, width0: p0.width, rotary0: p0.rotary,
    offset1: p1?.offset ?? 0, stride1: p1?.stride ?? 0, width1: p1?.width ?? 0, rotary1: p1?.rotary ?? 0, norm: o.norm ? 1 : 0, eps: o.norm?.eps ?? 1e-5,
  };
  const out = tf.engine().runKernel(CACHE_WRITE_FROM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  markWritten(out);
  return out;
}
