// Backend selection and the native CPU kernels. See init.ts for the choices.
export { BackendError } from './errors';
export {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendDescription,
  type BackendInit,
  addonBlas,
  describeBackend,
  disposeBackend,
  exitProcess,
  initBackend,
  parseBackendChoice,
} from './init';
export type { CpuOptions } from './cpu';
export { type AddonInfo, type AddonLoad, type NativeAddon, loadAddon } from './addon';
export { NATIVE_KERNELS, registerNativeKernels, unregisterNativeKernels } from './native-kernels';
export { type CpuKernelFunc, originalKernel, overriddenKernels } from './kernel-override';
export { resolveThreads } from './threads';
export { matMulShape, matMulWgsl, planSplits } from './webgpu-matmul';
export { choosePlan, setTiledMatMul } from './webgpu-matmul-kernel';
export { dropout, dropoutMask, maskAttrs, maskValues } from './dropout-mask';
export { cacheBindGroups, memoizeBindGroupLayouts } from './webgpu-dispatch';
