// Shared by the backend tests: run tfjs's own (JS) kernel that a native one replaced, and compare.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend, loadAddon, originalKernel } from '../../../lib/backend';

/** Why native tests cannot run here (the addon is not built), or undefined when they can. */
export function nativeSkipReason(): string | undefined {
  const { addon, reason } = loadAddon();
  return addon ? undefined : `native addon unavailable: ${reason}; run npm run build:native`;
}

/** The cpu backend with native kernels on. */
export async function useNative(): Promise<void> {
  const init = await initBackend('cpu', { native: true });
  assert.equal(init.native, true, 'native kernels should be registered');
}

/** Runs tfjs's JS kernel (saved when the native one was registered) and returns its output values and shape. */
export function runOriginal(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
): { values: Float32Array; shape: number[] } {
  return runOriginalMany(kernelName, inputs, attrs)[0];
}

/** runOriginal for kernels with several outputs (SplitV). Concat takes its inputs as an array. */
export function runOriginalMany(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
): { values: Float32Array; shape: number[] }[] {
  const kernel = originalKernel(kernelName);
  if (!kernel) throw new Error(`no saved original for ${kernelName}; are native kernels registered?`);
  const backend = tf.backend() as unknown as MathBackendCPU;
  const kernelInputs = kernelName === 'Concat' ? Object.values(inputs) : inputs;
  const result = kernel({ inputs: kernelInputs as unknown as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap });
  return (Array.isArray(result) ? result : [result]).map((out) => {
    const values = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
    backend.disposeIntermediateTensorInfo(out);
    return { values, shape: out.shape };
  });
}

/**
 * Asserts equal shapes and max|actual − expected| ≤ rtol · max|expected| (a norm-wise relative check:
 * sums of many terms cancel, so per-element relative error near zero says nothing about correctness).
 * NaNs must sit at the same places.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      assert.ok(Number.isNaN(e) && Number.isNaN(a), `${what}: NaN mismatch at ${i} (got ${a}, want ${e})`);
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      assert.equal(a, e, `${what}: infinities differ at ${i}`);
      continue;
    }
    const d = Math.abs(a - e);
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= rtol * Math.max(scale, 1e-30), `${what}: max diff ${worst} at ${at} exceeds ${rtol} × ${scale}`);
}

export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** A small deterministic PRNG for choosing test shapes (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
