// The table of CPU kernels we replace with native ones. Each entry builds the replacement from the addon
// and tfjs's original kernel (the fallback for dtypes and layouts the native code does not cover).
import type { NativeAddon } from './addon';
import { type CpuKernelFunc, overrideKernel, overriddenKernels, restoreKernels } from './kernel-override';
import { nativeBatchMatMul, nativeFusedMatMul } from './kernels/matmul';

export interface NativeKernelSpec {
  kernelName: string;
  make(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc;
}

export const NATIVE_KERNELS: readonly NativeKernelSpec[] = [
  { kernelName: 'BatchMatMul', make: nativeBatchMatMul },
  { kernelName: '_FusedMatMul', make: nativeFusedMatMul },
];

/** Registers every native kernel over the 'cpu' backend's; returns their names. */
export function registerNativeKernels(addon: NativeAddon, only?: readonly string[]): string[] {
  for (const spec of NATIVE_KERNELS) {
    if (only && !only.includes(spec.kernelName)) continue;
    overrideKernel(spec.kernelName, (original) => spec.make(addon, original));
  }
  return overriddenKernels('cpu');
}

/** Back to tfjs's JS kernels everywhere. */
export function unregisterNativeKernels(): void {
  restoreKernels('cpu');
}
