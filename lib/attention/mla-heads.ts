// MLA's attention inputs for a whole sequence, in the fused attention's layout, straight from the projections
// by the head-layout kernels (lib/backend/mla-heads.ts), each with its gradient as one kernel too. mla.ts takes
// this path where the backend has those kernels and the fused attention (WebGPU); test/attention/
// mla-heads.test.ts checks it against the ops path (splitHeads, slices, applyRope, concat, tile).
// Shape legend: B batch, T time, H heads, N no-RoPE key dims, R RoPE dims, D = N + R query/key head dim,
// Dv value head dim, L latent rank.
import * as tf from '@tensorflow/tfjs-core';
import {
  type HeadLayoutAttrs,
  type KeyHeadsAttrs,
  MLA_KEY_HEADS_KERNEL,
  MLA_KEY_ROPE_GRAD_KERNEL,
  MLA_MERGE_HEADS_KERNEL,
  MLA_MERGE_HEADS_ROPE_KERNEL,
  MLA_SPLIT_HEADS_KERNEL,
  MLA_SPLIT_HEADS_ROPE_KERNEL,
} from '../backend/mla-heads';
import type { RopeTables } from './rope';

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

/** Whether the current backend has the head-layout kernels. */
export function mlaHeadKernelsExist(): boolean {
  return !!tf.getKernel(MLA_SPLIT_HEADS_KERNEL, tf.getBackend());
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

/**
 * The fused attention's q (B·H, T, N + R), k (B·H, T, N + R) and v (B·H, T, Dv) for a whole sequence from
 * q2 = cq·W_uq (B, T, H·(N + R)), kv = latent·W_ukv (B, T, H·N + H·Dv) and, with RoPE, dkv = x·W_dkv
 * (B, T, L + R), whose last R columns are the shared RoPE key.
 */
export function mlaHeads(q2: tf.Tensor3D, kv: tf.Tensor3D, dkv: tf.Tensor3D | undefined, d: MlaHeadDims, rope?: RopeTables) {
  if (d.rotary > 0 && (!rope || !dkv)) throw new Error('mlaHeads: RoPE dims without RoPE tables or the dkv projection');
  const D = d.nope + d.rotary;
  const q = splitHeads(q2, d.heads, D, 0, d.rotary > 0 ? rope : undefined);
  const k = d.rotary > 0 ? ropeKeys(kv, dkv!, d, rope!) : splitHeads(kv, d.heads, d.nope, 0);
  const v = splitHeads(kv, d.heads, d.valueDim, d.heads * d.nope);
  return { q, k, v };
}
