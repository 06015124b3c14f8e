// Rotary position embeddings, rotate-half (GPT-NeoX) layout: dims i and i + r/2 of a rotated sub-head form
// one pair. As in the original, frequencies come from the full head dim D (θ^(-2i/D)) and a rotated sub-head
// of r < D dims uses the first r/2 of them.
import * as tf from '@tensorflow/tfjs-core';
import { ROPE_KERNEL } from '../backend/rope-kernel';

export interface RopeTables {
  /** cos and sin of (position × frequency), (maxSeqLen, r): the r/2 angles written twice (rotate-half). */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  rotaryDim: number;
}

/** The r/2 inverse frequencies used by a rotated sub-head of r dims in a head of D dims. */
export function ropeFrequencies(rotaryDim: number, headDim: number, theta: number): Float64Array {
  const f = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < f.length; i++) f[i] = Math.pow(theta, -(2 * i) / headDim);
  return f;
}

export function ropeTables(rotaryDim: number, headDim: number, theta: number, maxSeqLen: number): RopeTables {
  const freqs = ropeFrequencies(rotaryDim, headDim, theta);
  const half = rotaryDim / 2;
  const cos = new Float32Array(maxSeqLen * rotaryDim);
  const sin = new Float32Array(maxSeqLen * rotaryDim);
  for (let p = 0; p < maxSeqLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * freqs[i]; // angles in float64, rounded once
      for (const j of [i, i + half]) {
        cos[p * rotaryDim + j] = Math.cos(a);
        sin[p * rotaryDim + j] = Math.sin(a);
      }
    }
  }
  return {
    cos: tf.tensor2d(cos, [maxSeqLen, rotaryDim]),
    sin: tf.tensor2d(sin, [maxSeqLen, rotaryDim]),
    rotaryDim,
  };
}

/** rotate_half(x) = [-x2, x1] for x = [x1, x2] split at the middle of the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const r = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [r / 2, r / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/**
 * Rotates x (…, T, r) — its second-to-last axis is time — for positions start .. start + T - 1.
 * Works on (B, H, T, r) per-head queries/keys and on (B, 1, T, r) shared RoPE keys alike.
 */
export function applyRope(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  const T = x.shape[x.shape.length - 2];
  const r = tables.rotaryDim;
  if (start + T > tables.cos.shape[0]) {
    throw new RangeError(`position ${start + T - 1} is beyond maxSeqLen ${tables.cos.shape[0]}; raise maxSeqLen`);
  }
  if (tf.getKernel(ROPE_KERNEL, tf.getBackend())) return ropeKernel(x, tables, start);
  const cos = tf.slice(tables.cos, [start, 0], [T, r]); // (T, r), broadcast over leading axes
  const sin = tf.slice(tables.sin, [start, 0], [T, r]);
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
}

/** applyRope as the backend's one-shader rotation (lib/backend/rope-kernel.ts), its gradient the inverse rotation. */
function ropeKernel(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  const rotate = (t: tf.Tensor, sign: number) =>
    tf.engine().runKernel(ROPE_KERNEL, { x: t, cos: tables.cos, sin: tables.sin }, { start, sign } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const f = tf.customGrad(((xi: tf.Tensor) => ({ value: rotate(xi, 1), gradFunc: (dy: tf.Tensor) => rotate(dy, -1) })) as never);
  return f(x) as tf.Tensor;
}
