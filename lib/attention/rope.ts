// Rotary position embeddings, rotate-half (GPT-NeoX) layout: dims i and i + r/2 of a rotated sub-head form
// one pair. As in the original, frequencies come from the full head dim D (θ^(-2i/D)) and a rotated sub-head
// of r < D dims uses the first r/2 of them. The rotation itself is the op of lib/ops/rope.ts.
import * as tf from '@tensorflow/tfjs-core';
import { type RopeTables, rope } from '../ops/rope';

export type { RopeTables } from '../ops/rope';

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

/**
 * Rotates x (…, T, r) — its second-to-last axis is time — for positions start .. start + T - 1.
 * Works on (B, H, T, r) per-head queries/keys and on (B, 1, T, r) shared RoPE keys alike.
 */
export function applyRope(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  const T = x.shape[x.shape.length - 2];
  if (start + T > tables.cos.shape[0]) {
    throw new RangeError(`position ${start + T - 1} is beyond maxSeqLen ${tables.cos.shape[0]}; raise maxSeqLen`);
  }
  return rope(x, tables, start);
}
