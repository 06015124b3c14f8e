// Causal attention of a whole sequence against itself, fused: softmax(scale · q kᵀ + causal mask) · v with the
// (T, T) scores never a tensor, forward or backward. The op (its three kernel names, their attributes, the
// head dims the kernels take and the gradient through the backward kernels) and its reference composition.
// A backend registers the kernels (lib/backend/webgpu/kernels/flash-attention.ts); lib/attention/flash.ts
// maps the attention core's score terms onto this op, and lib/attention/core.ts is the path everywhere else.
// Shape legend: BH batch·heads, T time, D query/key head dim, Dv value head dim.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Inputs q, k (BH, T, D), v (BH, T, Dv); attrs scale; output (1, 1, n), flat: O (BH·T·Dv) then log-sum-exp (BH·T). */
export const FLASH_FORWARD_KERNEL = 'MlaFlashAttention';
/** Inputs q, k, v, dO (BH, T, Dv), lse (BH, T), delta (BH, T); output dQ (BH, T, D) flat as (1, 1, n). */
export const FLASH_DQ_KERNEL = 'MlaFlashAttentionDq';
/** Same inputs; output (1, 1, n), flat: dK (BH·T·D) then dV (BH·T·Dv). */
export const FLASH_DKV_KERNEL = 'MlaFlashAttentionDkv';

export interface FlashAttrs {
  scale: number;
}

/** Largest head dims the kernels keep in registers (beyond that they would spill, so the unfused core runs). */
export const FLASH_MAX_DIM = 64;

export interface FlashDims {
  /** Query/key head dim (a multiple of 4, at most FLASH_MAX_DIM). */
  D: number;
  /** Value head dim (a multiple of 4, at most FLASH_MAX_DIM). */
  Dv: number;
}

/** Why the fused kernels cannot take these dims, or null when they can. */
export function flashUnsupported(d: FlashDims): string | null {
  for (const [name, v] of [['D', d.D], ['Dv', d.Dv]] as const) {
    if (!Number.isInteger(v) || v < 4 || v % 4 !== 0 || v > FLASH_MAX_DIM) return `${name} = ${v} (needs a multiple of 4 from 4 to ${FLASH_MAX_DIM})`;
  }
  return null;
}

/** Whether the active backend has the fused kernels (and, given dims, whether they take them). */
export function hasFlashAttentionKernel(dims?: FlashDims): boolean {
  return hasKernel(FLASH_FORWARD_KERNEL) && (dims === undefined || flashUnsupported(dims) === null);
}

/**
 * softmax(scale · q kᵀ + causal mask) · v for q, k (BH, T, D), v (BH, T, Dv) → (BH, T, Dv), by the fused
 * kernels, with their backward pass as the gradient. Callers check hasFlashAttentionKernel first.
 */
export function flashAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number): tf.Tensor3D {
  const [BH, T] = q.shape;
  const Dv = v.shape[2];
  const attrs = { scale } satisfies FlashAttrs as unknown as tf.NamedAttrMap;
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const packed = tf.engine().runKernel(FLASH_FORWARD_KERNEL, { q: qi, k: ki, v: vi }, attrs) as tf.Tensor; // (1, 1, BH·T·Dv + BH·T)
    const flat = tf.reshape(packed, [BH * T * (Dv + 1)]);
    const o = tf.reshape(tf.slice(flat, [0], [BH * T * Dv]), [BH, T, Dv]) as tf.Tensor3D; // (BH, T, Dv)
    const lse = tf.reshape(tf.slice(flat, [BH * T * Dv], [BH * T]), [BH, T]); // (BH, T): log Σ exp of each row
    save([qi, ki, vi, o, lse]);
    return {
      value: o,
      gradFunc: (dO: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, os, lses] = saved;
        const D = qs.shape[2] as number;
        // Δ_i = Σ_j P_ij dP_ij = dO_i · O_i: the softmax backward's row term, one (BH, T) array.
        const delta = tf.sum(tf.mul(dO, os), -1); // (BH, T)
        const ins = { q: qs, k: ks, v: vs, dO, lse: lses, delta };
        const dq = tf.reshape(tf.engine().runKernel(FLASH_DQ_KERNEL, ins, attrs) as tf.Tensor, [BH, T, D]); // (BH, T, D)
        const dkv = tf.reshape(tf.engine().runKernel(FLASH_DKV_KERNEL, ins, attrs) as tf.Tensor, [BH * T * (D + Dv)]);
        const dk = tf.reshape(tf.slice(dkv, [0], [BH * T * D]), [BH, T, D]); // (BH, T, D)
        const dv = tf.reshape(tf.slice(dkv, [BH * T * D], [BH * T * Dv]), [BH, T, Dv]); // (BH, T, Dv)
        return [dq, dk, dv];
      },
    };
  }) as never);
  return f(q, k, v) as tf.Tensor3D;
}

/** flashAttention with tfjs ops (tfjs differentiates it): the (BH, T, T) scores, masked, softmaxed, applied. */
export function flashAttentionReference(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number): tf.Tensor3D {
  return tf.tidy(() => {
    const T = q.shape[1];
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9; // key j after query i
    const scores = tf.add(tf.matMul(tf.mul(q, scale), k, false, true), tf.tensor2d(mask, [T, T])); // (BH, T, T)
    return tf.matMul(tf.softmax(scores), v) as tf.Tensor3D; // (BH, T, Dv)
  });
}
