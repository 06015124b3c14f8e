// Replaces a backend's registered kernel with our own while keeping the original at hand, both as the
// fallback for cases the replacement does not cover and as the reference the tests compare against.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export interface CpuKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: tf.NamedAttrMap;
}
export type CpuKernelFunc = (args: CpuKernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Original configs of the kernels we replaced, keyed by "backend/kernel". */
const originals = new Map<string, tf.KernelConfig>();

const key = (backendName: string, kernelName: string) => `${backendName}/${kernelName}`;

/**
 * Registers make(original) in place of the backend's kernel. Overriding twice replaces our previous
 * version but keeps the first original, so the fallback is always tfjs's own kernel.
 */
export function overrideKernel(kernelName: string, make: (original: CpuKernelFunc) => CpuKernelFunc, backendName = 'cpu'): void {
  const k = key(backendName, kernelName);
  let original = originals.get(k);
  if (!original) {
    original = tf.getKernel(kernelName, backendName);
    if (!original) throw new Error(`overrideKernel: backend '${backendName}' has no kernel '${kernelName}' to replace`);
    originals.set(k, original);
  }
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: make(original.kernelFunc as unknown as CpuKernelFunc) as unknown as tf.KernelFunc,
  });
}

/** Puts every original kernel of the backend back. */
export function restoreKernels(backendName = 'cpu'): void {
  for (const [k, config] of originals) {
    if (config.backendName !== backendName) continue;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
    originals.delete(k);
  }
}

/** tfjs's own kernel function for a kernel we replaced (undefined if we did not replace it). */
export function originalKernel(kernelName: string, backendName = 'cpu'): CpuKernelFunc | undefined {
  return originals.get(key(backendName, kernelName))?.kernelFunc as unknown as CpuKernelFunc | undefined;
}

export function overriddenKernels(backendName = 'cpu'): string[] {
  return [...originals.values()].filter((c) => c.backendName === backendName).map((c) => c.kernelName).sort();
}
