// Per-head columns of a projection's row, gathered into the attention's (B, H, t, w) layout with the tail of each
// head rotated (RoPE), as one op: a decode step's q heads come from the one row a fused projection
// (./decode-linear.ts) wrote for Q, K and V together, and MLA's qNope / qRope, kNope / v are column blocks of one row
// each. With tfjs ops that is a slice, a reshape, a slice per head block, a transpose and the rotation (its slice
// and concat): 2-5 kernels, a dispatch each on WebGPU. A backend's kernel (lib/backend/webgpu/kernels/decode-heads.ts)
// does it in one; the reference is those tfjs ops. No gradient: decoding only.
// A column segment names where head h's w columns are: offset + h·stride + j, j < w, the last `rotary` of them
// rotated for the row's position (rotate-half, as ./rope.ts). The cache write of ./cache-write.ts reads the same
// segments (stride 0: every head reads the same columns, MLA's shared RoPE key copied into each head's key).
// Shape legend: B batch, t new tokens, X row width, H heads, w columns per head.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';
import { type RopeTables, rope } from './rope';

/** Inputs x (B, t, X) [, cos, sin]; attrs DecodeHeadsAttrs; output (1, 1, B·H·t·w). */
export const DECODE_HEADS_KERNEL = 'MlaDecodeHeads';

export interface ColumnSegment {
  /** Column of head 0's first. */
  offset: number;
  /** Columns from one head's first to the next's (0: all heads read the same columns). */
  stride: number;
  width: number;
  /** The last `rotary` of the `width` columns are rotated (0: none). */
  rotary: number;
}

export interface DecodeHeadsAttrs extends ColumnSegment {
  heads: number;
  /** Position of the first new token (row of the RoPE tables). */
  start: number;
}

export function hasDecodeHeadsKernel(): boolean {
  return hasKernel(DECODE_HEADS_KERNEL);
}

/** Every way a segment can be wrong for x (B, t, X) and `heads` heads, as one line. */
export function checkSegment(what: string, x: tf.Tensor, s: ColumnSegment, heads: number, rope?: RopeTables, start = 0): void {
  const X = x.shape[x.shape.length - 1];
  const last = s.offset + (heads - 1) * s.stride + s.width;
  if (x.rank !== 3) throw new Error(`${what}: the source must be (B, t, X), got (${x.shape})`);
  if (![s.offset, s.stride, s.width, s.rotary].every((v) => Number.isInteger(v) && v >= 0) || s.width < 1 || last > X) {
    throw new RangeError(`${what}: ${heads} heads of ${s.width} columns from ${s.offset} every ${s.stride} reach column ${last - 1}, past the row's ${X}`);
  }
  if (s.rotary > s.width || s.rotary % 2 !== 0) throw new RangeError(`${what}: a rotated tail of ${s.rotary} in heads of ${s.width}; it must be even and fit`);
  if (s.rotary > 0) {
    if (!rope || rope.rotaryDim !== s.rotary) throw new Error(`${what}: ${s.rotary} rotated columns need RoPE tables of that width (got ${rope?.rotaryDim ?? 'none'})`);
    const t = x.shape[1] as number;
    if (start + t > rope.cos.shape[0]) throw new RangeError(`${what}: position ${start + t - 1} is beyond the RoPE tables' ${rope.cos.shape[0]}; raise maxSeqLen`);
  }
}

/** x (B, t, X) → (B, H, t, w): each head's segment columns, the tail rotated for positions start ... */
export function decodeHeads(x: tf.Tensor3D, heads: number, s: ColumnSegment, tables?: RopeTables, start = 0): tf.Tensor4D {
  checkSegment('decode heads', x, s, heads, tables, start);
  if (!hasDecodeHeadsKernel()) return decodeHeadsReference(x, heads, s, tables, start);
  const [B, t] = x.shape;
  const inputs: Record<string, tf.Tensor> = s.rotary > 0 ? { x, cos: tables!.cos, sin: tables!.sin } : { x };
  const attrs: DecodeHeadsAttrs = { ...s, heads, start };
  return tf.tidy(() => {
    const flat = tf.engine().runKernel(DECODE_HEADS_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor; // (1, 1, B·H·t·w)
    return tf.reshape(flat, [B, heads, t, s.width]) as tf.Tensor4D; // (B, H, t, w)
  });
}

/** Segment columns of x (B, t, X) per head → (B, H, t, w), unrotated, by tfjs ops. */
export function segmentColumns(x: tf.Tensor3D, heads: number, s: ColumnSegment): tf.Tensor4D {
  const [B, t] = x.shape;
  if (s.stride === 0) {
    const one = tf.reshape(tf.slice(x, [0, 0, s.offset], [-1, -1, s.width]), [B, 1, t, s.width]); // (B, 1, t, w)
    return (heads === 1 ? one : tf.tile(one, [1, heads, 1, 1])) as tf.Tensor4D; // (B, H, t, w)
  }
  // The last head's columns past its width may run off the row (MLA's RoPE tails): those are zeros, then cut.
  const X = x.shape[2];
  const have = Math.min(heads * s.stride, X - s.offset);
  let block = tf.slice(x, [0, 0, s.offset], [-1, -1, have]); // (B, t, ≤ H·stride)
  if (have < heads * s.stride) block = tf.pad(block, [[0, 0], [0, 0], [0, heads * s.stride - have]]); // (B, t, H·stride)
  let h = tf.reshape(block, [B, t, heads, s.stride]); // (B, t, H, stride)
  if (s.width !== s.stride) h = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, s.width]); // (B, t, H, w)
  return tf.transpose(h, [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, t, w)
}

/** The rotation of the last `rotary` columns of h (B, H, t, w) for positions start .., by ./rope.ts. */
export function rotateTail(h: tf.Tensor4D, rotary: number, tables: RopeTables | undefined, start: number): tf.Tensor4D {
  if (rotary === 0) return h;
  const w = h.shape[3];
  if (rotary === w) return rope(h, tables!, start) as tf.Tensor4D;
  const head = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, w - rotary]); // (B, H, t, w − r)
  const tail = tf.slice(h, [0, 0, 0, w - rotary], [-1, -1, -1, rotary]); // (B, H, t, r)
  return tf.concat([head, rope(tail, tables!, start)], -1) as tf.Tensor4D; // (B, H, t, w)
}

/** decodeHeads with tfjs ops. */
export function decodeHeadsReference(x: tf.Tensor3D, heads: number, s: ColumnSegment, tables?: RopeTables, start = 0): tf.Tensor4D {
  checkSegment('decode heads', x, s, heads, tables, start);
  return tf.tidy(() => rotateTail(segmentColumns(x, heads, s), s.rotary, tables, start));
}
