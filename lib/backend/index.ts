// Backend selection and the native CPU kernels. See init.ts for the choices.
export { BackendError } from './errors';
export { onNullDevice } from './webgpu/init';
export { type DeviceCheck, DeviceError, type GpuErrorScope, gpuErrorScope, withDeviceErrorScope } from './webgpu/error-scope';
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
  releasePooledMemory,
  storageBindingLimit,
} from './init';
export type { CpuOptions } from './cpu/init';
export { type AddonInfo, type AddonLoad, type NativeAddon, loadAddon } from './cpu/addon';
export { NATIVE_KERNELS, registerNativeKernels, unregisterNativeKernels } from './cpu/native-kernels';
export { type CpuKernelFunc, originalKernel, overriddenKernels } from './cpu/kernel-override';
export { resolveThreads } from './cpu/threads';
export { matMulShape, matMulWgsl, planSplits } from './webgpu/kernels/matmul';
export { choosePlan, setTiledMatMul } from './webgpu/kernels/matmul-kernel';
export { dropout, dropoutMask, maskAttrs, maskValues } from '../ops/dropout';
export { cacheBindGroups, gpuDispatchCount, memoizeBindGroupLayouts } from './webgpu/dispatch';
export { registerCpuOpKernels } from './cpu/register';
