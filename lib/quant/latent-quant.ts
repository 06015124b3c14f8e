// Quantize-dequantize of MLA's latent cache in groups of the last axis, as tf ops so that the same code runs
// on every backend inside a decode step. Formats and their byte counts: lib/costs/kv-cache.ts.
//   int8 / int4: symmetric, scale = absmax / qmax per group (qmax 127 / 7), code = round(x / scale) clipped
//                to ±qmax, held in an int32 tensor (tfjs has no 8-bit dtype; the byte count is the format's).
//   fp8 (e4m3):  scale = absmax / 448 per group, x / scale rounded to the nearest e4m3 value (3 mantissa bits,
//                exponents down to 2^-6, subnormals below in steps of 2^-9), held as float32 — simulated.
// Shape legend: B batch, S cached tokens, R latent width, G = ceil(R / g) groups of g dims.
import * as tf from '@tensorflow/tfjs-core';
import { CacheQuant, CacheQuantFormat, QUANT_CODE_BITS, checkCacheQuant, quantGroups } from '../costs/kv-cache';

/** The stored form of a quantized tensor: codes (…, R) and one scale per group (…, G). */
export interface Quantized {
  codes: tf.Tensor;
  scales: tf.Tensor;
}

/** Largest code magnitude of an integer format. */
export function intQmax(format: 'int8' | 'int4'): number {
  return 2 ** (QUANT_CODE_BITS[format] - 1) - 1;
}

export const E4M3_MAX = 448;
const E4M3_MANTISSA_BITS = 3;
const E4M3_MIN_NORMAL_EXP = -6;

/**
 * The analytic bound on |dequant(quant(x)) - x| for one element of a group with absmax `absmax`:
 * int: half a step, scale / 2 = absmax / (2 qmax); fp8: half an ulp, at most 2^-4 |x| for normal values and
 * 2^-10 · scale in the subnormal range. (Float32 rounding of the scale products adds ~1e-7 relative on top.)
 */
export function quantErrorBound(format: CacheQuantFormat, absmax: number, x: number): number {
  switch (format) {
    case 'none':
      return 0;
    case 'int8':
    case 'int4':
      return absmax / intQmax(format) / 2;
    case 'fp8': {
      const scale = absmax / E4M3_MAX;
      return Math.max(2 ** -(E4M3_MANTISSA_BITS + 1) * Math.abs(x), 2 ** (E4M3_MIN_NORMAL_EXP - E4M3_MANTISSA_BITS - 1) * scale);
    }
  }
}

/** x (…, R) → (…, G, g), zero-padded to G·g: zeros never raise a group's absmax. */
function grouped(x: tf.Tensor, g: number): tf.Tensor {
  const R = x.shape[x.shape.length - 1];
  const G = quantGroups(R, g);
  const padded = G * g === R ? x : tf.pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as [number, number]), [0, G * g - R]]);
  return tf.reshape(padded, [...x.shape.slice(0, -1), G, g]); // (…, G, g)
}

/** (…, G, g) → (…, R): drops the padding. */
function ungrouped(x: tf.Tensor, R: number): tf.Tensor {
  const lead = x.shape.slice(0, -2);
  const flat = tf.reshape(x, [...lead, -1]); // (…, G·g)
  return flat.shape[flat.shape.length - 1] === R ? flat : tf.slice(flat, lead.map(() => 0), [...lead, R]);
}

/** Rounds |y| ≤ 448 to the nearest e4m3 value (ties to even, as tf.round). */
export function roundE4m3(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(y);
    // floor(log2 a), corrected by one where log's rounding lands on the wrong side of a power of two.
    let e = tf.floor(tf.div(tf.log(a), Math.LN2));
    e = tf.where(tf.greater(tf.pow(2, e), a), tf.sub(e, 1), e);
    e = tf.where(tf.lessEqual(tf.pow(2, tf.add(e, 1)), a), tf.add(e, 1), e);
    e = tf.maximum(e, E4M3_MIN_NORMAL_EXP); // subnormals share the smallest normal binade's step
    const step = tf.pow(2, tf.sub(e, E4M3_MANTISSA_BITS));
    const q = tf.minimum(tf.mul(tf.round(tf.div(a, step)), step), E4M3_MAX);
    return tf.mul(tf.sign(y), q);
  });
}

/** x (…, R) → its codes (…, R) and per-group scales (…, G). */
export function quantize(x: tf.Tensor, quant: CacheQuant): Quantized {
  checkCacheQuant(quant);
  const format = quant.format;
  if (format === 'none') throw new RangeError("quantize needs a format other than 'none'");
  const R = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  return tf.tidy(() => {
    // Leading axes flattened: tfjs-webgpu's Select (tf.where) stops at rank 4, and a decode cache's latent
    // (B, 1, S, R) grouped would be rank 5.
    const xg = grouped(tf.reshape(x, [-1, R]), quant.groupSize); // (N, G, g), N = prod(…)
    const absmax = tf.max(tf.abs(xg), -1, true); // (N, G, 1)
    const top = format === 'fp8' ? E4M3_MAX : intQmax(format);
    const scale = tf.div(absmax, top); // (N, G, 1)
    const safe = tf.where(tf.greater(scale, 0), scale, tf.onesLike(scale)); // an all-zero group has codes 0
    const y = tf.div(xg, safe);
    const codes =
      format === 'fp8' ? roundE4m3(y) : tf.cast(tf.clipByValue(tf.round(y), -top, top), 'int32');
    return {
      codes: tf.reshape(ungrouped(codes, R), x.shape), // (N, R) → (…, R)
      scales: tf.reshape(scale, [...lead, scale.shape[1]!]), // (N, G, 1) → (…, G)
    };
  });
}

/** The float32 values codes (…, R) and scales (…, G) stand for. */
export function dequantize(q: Quantized, quant: CacheQuant): tf.Tensor {
  const R = q.codes.shape[q.codes.shape.length - 1];
  return tf.tidy(() => {
    const cg = grouped(tf.cast(q.codes, 'float32'), quant.groupSize); // (…, G, g)
    return ungrouped(tf.mul(cg, tf.expandDims(q.scales, -1)), R); // (…, R)
  });
}
