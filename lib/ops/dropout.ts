// Dropout with masks from a counter-based hash, so any backend can make them where the tensor lives: the op,
// its kernel name and attributes, and the host computation that is its reference (and the CPU path).
// tf.dropout draws its mask with a JavaScript RNG on the host; on WebGPU that meant generating and uploading
// B·T·C random numbers per layer per step (17% of a 35M training step's host time on the H100). Here element i
// of the mask is a pure function of (seed, i): the WebGPU kernel computes it in a shader, the CPU backend in a
// loop, and both give the same bits, so masks (and dropout training runs) agree across backends.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Kernel name registered by backends that make masks on the device (lib/backend/webgpu/kernels/dropout-mask.ts). */
export const DROPOUT_MASK_KERNEL = 'MlaDropoutMask';

export interface DropoutMaskAttrs {
  shape: number[];
  /** Keep element i when its hash's top 24 bits are ≥ this: round(rate · 2^24). */
  threshold: number;
  /** Value of a kept element, 1/(1 − rate) rounded to float32 (0 elsewhere). */
  scale: number;
  /** Per-mask key, from maskKey(seed, stream). */
  key: number;
}

/** Chris Wellons' "lowbias32" integer hash: a bijection on uint32 with low bias. */
export function lowbias32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One key per (seed, stream): the trainer's per-step seed and the layer index. */
export function maskKey(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`dropout seed must be a non-negative integer, got ${seed}`);
  const lo = seed % 0x100000000;
  const hi = Math.floor(seed / 0x100000000);
  return lowbias32(lowbias32(lo ^ 0x9e3779b9) ^ lowbias32(hi + 0x632be5ab) ^ Math.imul(stream >>> 0, 0x85ebca6b));
}

/** The hash of element i under a key; the WebGPU shader (lib/backend/webgpu/kernels/dropout-mask.ts) computes the same expression. */
export function elementHash(key: number, i: number): number {
  return lowbias32(lowbias32((i + key) >>> 0) ^ key);
}

export function maskAttrs(shape: number[], rate: number, seed: number, stream: number): DropoutMaskAttrs {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  return { shape, threshold: Math.round(rate * 2 ** 24), scale: Math.fround(1 / (1 - rate)), key: maskKey(seed, stream) };
}

/** The mask's values on the host: the reference the shader is tested against, and the CPU path. */
export function maskValues(a: DropoutMaskAttrs): Float32Array {
  const n = a.shape.reduce((p, d) => p * d, 1);
  if (n > 0xffffffff) throw new RangeError(`dropout mask of ${n} elements exceeds the 2^32 counter`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) if (elementHash(a.key, i) >>> 8 >= a.threshold) out[i] = a.scale;
  return out;
}

export function hasDropoutMaskKernel(): boolean {
  return hasKernel(DROPOUT_MASK_KERNEL);
}

/** (shape) float32 mask of 0 and 1/(1 − rate), made on the active backend when it has the kernel. */
export function dropoutMask(shape: number[], rate: number, seed: number, stream: number): tf.Tensor {
  const attrs = maskAttrs(shape, rate, seed, stream);
  if (hasDropoutMaskKernel()) {
    return tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tensor(maskValues(attrs), shape, 'float32');
}

/** x · mask: inverted dropout, so evaluation needs no rescaling. The mask is a constant of the graph. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number, stream: number): T {
  if (rate === 0) return x;
  return tf.mul(x, dropoutMask(x.shape, rate, seed, stream)) as T;
}
