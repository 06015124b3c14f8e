// MLA's attention inputs for a whole sequence in the fused attention's (B·H, T, ·) layout, straight from the
// projections: the op (six kernel names, their attributes, the gradients as kernels too) and its reference
// composition (splitHeads, slices, the RoPE rotation, concat, tile). Written with tfjs ops that took ~13 kernels
// per layer forward and ~16 backward; a backend registers one kernel each
// (lib/backend/webgpu/kernels/mla-heads.ts). lib/attention/mla.ts takes this op where the backend has these
// kernels and the fused attention (WebGPU).
// Kernels (attrs are numbers; rows are (batch, time) pairs, R the rotated tail, rotate-half as ./rope.ts):
//   split     x (B, T, rowWidth) → (B, H, T, w): head h is columns offset + h·w .. + w − 1, tail R rotated;
//   merge     dy (B, H, T, dyWidth) → (B, T, rowWidth): the transpose of split (its first w columns of each
//             head back in place, the tail rotated back, every other column 0);
//   keyHeads  kv, dkv → (B, H, T, N + R): head h's N key columns of kv, then the shared RoPE key (dkv's last R
//             columns) rotated, the same for every head;
//   keyRopeGrad dk (B, H, T, N + R) → (B, T, L + R): 0 for the L latent columns, then Σ_h of each head's RoPE
//             part rotated back (the shared key's gradient).
// Shape legend: B batch, T time, H heads, N no-RoPE key dims, R RoPE dims, D = N + R query/key head dim,
// Dv value head dim, L latent rank.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';
import { type RopeTables, rope as rotate } from './rope';

export const MLA_SPLIT_HEADS_KERNEL = 'MlaSplitHeads';
export const MLA_SPLIT_HEADS_ROPE_KERNEL = 'MlaSplitHeadsRope';
export const MLA_MERGE_HEADS_KERNEL = 'MlaMergeHeads';
export const MLA_MERGE_HEADS_ROPE_KERNEL = 'MlaMergeHeadsRope';
export const MLA_KEY_HEADS_KERNEL = 'MlaKeyHeads';
export const MLA_KEY_ROPE_GRAD_KERNEL = 'MlaKeyRopeGrad';

/** split / merge: heads H, head width w, its rotated tail R (0: none), the row's offset and width. */
export interface HeadLayoutAttrs {
  heads: number;
  width: number;
  rotary: number;
  offset: number;
  rowWidth: number;
  /** merge: the per-head width of dy (≥ width; keys carry the RoPE tail past the N columns merged). */
  dyWidth: number;
  /** First position (row of the RoPE tables). */
  start: number;
}

/** keyHeads / keyRopeGrad: H heads of N key columns in kv's first H·N, dkv = [latent L | RoPE key R]. */
export interface KeyHeadsAttrs {
  heads: number;
  nope: number;
  rotary: number;
  latent: number;
  start: number;
}

export interface MlaHeadDims {
  heads: number;
  /** No-RoPE dims of each query/key head (N). */
  nope: number;
  /** RoPE dims of each query head and of the shared key (R; 0 without RoPE). */
  rotary: number;
  /** Value head dim. */
  valueDim: number;
  /** Latent rank L: dkv is [latent (L) | RoPE key (R)]. */
  latent: number;
}

/** Whether the active backend has the head-layout kernels. */
export function hasMlaHeadKernels(): boolean {
  return hasKernel(MLA_SPLIT_HEADS_KERNEL);
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) => tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;

/**
 * Columns offset .. offset + H·w − 1 of x (B, T, rowWidth) as heads (B·H, T, w), the last `rotary` of each
 * head rotated for positions 0 .. T − 1; the gradient puts dy back in those columns (0 elsewhere).
 */
function splitHeads(x: tf.Tensor3D, heads: number, width: number, offset: number, rope?: RopeTables): tf.Tensor3D {
  const [B, T, rowWidth] = x.shape;
  const rotary = rope ? rope.rotaryDim : 0;
  const a: HeadLayoutAttrs = { heads, width, rotary, offset, rowWidth, dyWidth: width, start: 0 };
  const trig: Record<string, tf.Tensor> = rope ? { cos: rope.cos, sin: rope.sin } : {};
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.reshape(run(rope ? MLA_SPLIT_HEADS_ROPE_KERNEL : MLA_SPLIT_HEADS_KERNEL, { x: xi, ...trig }, a), [B * heads, T, width]), // (B·H, T, w)
    gradFunc: (dy: tf.Tensor) => tf.reshape(run(rope ? MLA_MERGE_HEADS_ROPE_KERNEL : MLA_MERGE_HEADS_KERNEL, { dy, ...trig }, a), [B, T, rowWidth]), // (B, T, rowWidth)
  })) as never);
  return f(x) as tf.Tensor3D;
}

/**
 * Keys (B·H, T, N + R): head h's N columns of kv, then the shared RoPE key (dkv's last R columns) rotated. The
 * gradient reaches kv's key columns (merge) and dkv's RoPE columns (the heads' parts summed, rotated back).
 */
function ropeKeys(kv: tf.Tensor3D, dkv: tf.Tensor3D, d: MlaHeadDims, rope: RopeTables): tf.Tensor3D {
  const [B, T, kvWidth] = kv.shape;
  const a: KeyHeadsAttrs = { heads: d.heads, nope: d.nope, rotary: d.rotary, latent: d.latent, start: 0 };
  const w = d.nope + d.rotary;
  const back: HeadLayoutAttrs = { heads: d.heads, width: d.nope, rotary: 0, offset: 0, rowWidth: kvWidth, dyWidth: w, start: 0 };
  const f = tf.customGrad(((kvi: tf.Tensor, dkvi: tf.Tensor) => ({
    value: tf.reshape(run(MLA_KEY_HEADS_KERNEL, { kv: kvi, dkv: dkvi, cos: rope.cos, sin: rope.sin }, a), [B * d.heads, T, w]), // (B·H, T, N + R)
    gradFunc: (dk: tf.Tensor) => [
      tf.reshape(run(MLA_MERGE_HEADS_KERNEL, { dy: dk }, back), [B, T, kvWidth]), // (B, T, H·N + H·Dv): key columns
      tf.reshape(run(MLA_KEY_ROPE_GRAD_KERNEL, { dk, cos: rope.cos, sin: rope.sin }, a), [B, T, d.latent + d.rotary]), // (B, T, L + R)
    ],
  })) as never);
  return f(kv, dkv) as tf.Tensor3D;
}

const checkRope = (d: MlaHeadDims, dkv?: tf.Tensor3D, rope?: RopeTables) => {
  if (d.rotary > 0 && (!rope || !dkv)) throw new Error('mlaHeads: RoPE dims without RoPE tables or the dkv projection');
};

/**
 * The fused attention's q (B·H, T, N + R), k (B·H, T, N + R) and v (B·H, T, Dv) for a whole sequence from
 * q2 = cq·W_uq (B, T, H·(N + R)), kv = latent·W_ukv (B, T, H·N + H·Dv) and, with RoPE, dkv = x·W_dkv
 * (B, T, L + R), whose last R columns are the shared RoPE key. By the backend's kernels: callers check
 * hasMlaHeadKernels first.
 */
export function mlaHeads(q2: tf.Tensor3D, kv: tf.Tensor3D, dkv: tf.Tensor3D | undefined, d: MlaHeadDims, rope?: RopeTables) {
  checkRope(d, dkv, rope);
  const D = d.nope + d.rotary;
  const q = splitHeads(q2, d.heads, D, 0, d.rotary > 0 ? rope : undefined);
  const k = d.rotary > 0 ? ropeKeys(kv, dkv!, d, rope!) : splitHeads(kv, d.heads, d.nope, 0);
  const v = splitHeads(kv, d.heads, d.valueDim, d.heads * d.nope);
  return { q, k, v };
}

/** mlaHeads with tfjs ops (tfjs differentiates it): per-head views, slices, the rotation, tile and concat. */
export function mlaHeadsReference(q2: tf.Tensor3D, kv: tf.Tensor3D, dkv: tf.Tensor3D | undefined, d: MlaHeadDims, rope?: RopeTables) {
  checkRope(d, dkv, rope);
  const [B, T] = q2.shape;
  const H = d.heads;
  const D = d.nope + d.rotary;
  const cols = <X extends tf.Tensor>(x: X, from: number, to: number) => {
    const begin = x.shape.map(() => 0);
    const size = [...x.shape];
    begin[begin.length - 1] = from;
    size[size.length - 1] = to - from;
    return tf.slice(x, begin, size) as X;
  };
  // (B, T, H·w) → (B, H, T, w)
  const heads = (x: tf.Tensor3D) => tf.transpose(tf.reshape(x, [B, T, H, x.shape[2] / H]), [0, 2, 1, 3]) as tf.Tensor4D;
  const flat = (x: tf.Tensor, w: number) => tf.reshape(x, [B * H, T, w]) as tf.Tensor3D;
  const qh = heads(q2); // (B, H, T, D)
  const kNope = heads(cols(kv, 0, H * d.nope)); // (B, H, T, N)
  const v = flat(heads(cols(kv, H * d.nope, H * (d.nope + d.valueDim))), d.valueDim);
  if (d.rotary === 0) return { q: flat(qh, D), k: flat(kNope, d.nope), v };
  const qRope = rotate(cols(qh, d.nope, D), rope!, 0);
  const kRope = rotate(tf.reshape(cols(dkv!, d.latent, d.latent + d.rotary), [B, 1, T, d.rotary]), rope!, 0); // (B, 1, T, R)
  const q = flat(tf.concat([cols(qh, 0, d.nope), qRope], -1), D);
  const k = flat(tf.concat([kNope, tf.tile(kRope, [1, H, 1, 1])], -1), D);
  return { q, k, v };
}
