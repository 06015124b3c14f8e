// The table of CPU kernels we replace with native ones. Each entry builds the replacement from the addon
// and tfjs's original kernel (the fallback for dtypes and layouts the native code does not cover).
import type { NativeAddon } from './addon';
import { BackendError } from '../errors';
import { type CpuKernelFunc, overrideKernel, overriddenKernels, restoreKernels } from './kernel-override';
import { BINARY_CODES, UNARY_CODES, nativeBinary, nativeUnary } from './kernels/elementwise';
import { nativeGatherV2, nativeUnsortedSegmentSum } from './kernels/gather';
import { nativeTranspose } from './kernels/layout';
import { nativeBatchMatMul, nativeFusedMatMul } from './kernels/matmul';
import { REDUCE_CODES, nativeReduce, nativeSoftmax } from './kernels/reduce';
import { nativeConcat, nativePadV2, nativeSlice, nativeSplitV } from './kernels/slicing';

export interface NativeKernelSpec {
  kernelName: string;
  make(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc;
}

export const NATIVE_KERNELS: readonly NativeKernelSpec[] = [
  { kernelName: 'BatchMatMul', make: nativeBatchMatMul },
  { kernelName: '_FusedMatMul', make: nativeFusedMatMul },
  { kernelName: 'GatherV2', make: nativeGatherV2 },
  { kernelName: 'UnsortedSegmentSum', make: nativeUnsortedSegmentSum },
  { kernelName: 'Softmax', make: nativeSoftmax },
  { kernelName: 'Transpose', make: nativeTranspose },
  { kernelName: 'Slice', make: nativeSlice },
  { kernelName: 'SplitV', make: nativeSplitV },
  { kernelName: 'PadV2', make: nativePadV2 },
  { kernelName: 'Concat', make: nativeConcat },
  ...Object.keys(REDUCE_CODES).map((k) => ({ kernelName: k, make: nativeReduce(k) })),
  ...Object.keys(BINARY_CODES).map((k) => ({ kernelName: k, make: nativeBinary(k) })),
  ...Object.keys(UNARY_CODES).map((k) => ({ kernelName: k, make: nativeUnary(k) })),
];

/**
 * Registers the native kernels (all, or those named in `only`) over the 'cpu' backend's, and puts the
 * JS kernels back for the rest. Returns the names now native.
 */
export function registerNativeKernels(addon: NativeAddon, only?: readonly string[]): string[] {
  const known = new Set(NATIVE_KERNELS.map((s) => s.kernelName));
  const unknown = (only ?? []).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new BackendError(`no native kernel named ${unknown.join(', ')}; the native kernels are ${[...known].join(', ')}`);
  }
  restoreKernels('cpu');
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
