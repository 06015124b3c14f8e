// The one registration list of the project's op kernels on 'cpu' (one file per kernel in kernels/, each under its
// op's name from lib/ops). They are registered when this module loads, as tfjs-backend-cpu registers its own, so
// any process that loads lib/backend has them; the native kernels (native-kernels.ts) are another list, replacing
// tfjs's own kernels when the addon is built. Only the cache write is here: the other fused ops of lib/ops run
// their tfjs reference on cpu.
import * as tf from '@tensorflow/tfjs-core';
import { CPU_CACHE_WRITE } from './kernels/cache-write';

export const CPU_OP_KERNELS: readonly tf.KernelConfig[] = [CPU_CACHE_WRITE];

/** Registers every kernel of CPU_OP_KERNELS not yet registered (idempotent). */
export function registerCpuOpKernels(): void {
  for (const k of CPU_OP_KERNELS) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
}

registerCpuOpKernels();
