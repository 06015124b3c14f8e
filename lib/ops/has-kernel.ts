// The one question every fused op asks before it takes its kernels: has the active backend registered a
// kernel under the op's name? Backends register under the names of lib/ops; the ops never import a backend.
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend has a kernel registered as `kernelName`. */
export function hasKernel(kernelName: string): boolean {
  return !!tf.getKernel(kernelName, tf.getBackend());
}
