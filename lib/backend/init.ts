// Choosing and starting the tfjs backend. One call at program start; everything else uses tfjs as usual.
//
//   auto        'tensorflow' when @tensorflow/tfjs-node(-gpu) loads, else 'cpu'. WebGPU is never picked
//               automatically: probing Dawn costs start-up time and prints driver warnings on machines
//               without a GPU, and tfjs-backend-webgpu on Dawn is slower than tfjs-node where both exist.
//   cpu         tfjs-backend-cpu, with the native (BLAS) kernels registered over its JS ones when built.
//   tensorflow  TensorFlow's C library via tfjs-node; a BackendError when not installed.
//   webgpu      tfjs-backend-webgpu on Dawn; a BackendError when there is no GPU adapter.
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon } from './cpu/addon';
import { type CpuOptions, initCpu } from './cpu/init';
import { initTensorflow, probeTensorflow } from './tensorflow';
import { disposeWebgpu, initWebgpu } from './webgpu/init';
import { emptyPool, webgpuBufferManager } from './webgpu/buffer-pool';
import { type BackendChoice, type BackendSettings, BACKEND_CHOICES, backendSettings, parseBackendChoice } from '../settings';
import { type BackendDescription, setBackendDescription } from '../backend-description';

export { BACKEND_CHOICES, type BackendChoice, parseBackendChoice };
export { type BackendDescription, describeBackend } from '../backend-description';

export interface BackendInit {
  /** tfjs's name of the active backend: 'cpu', 'tensorflow' or 'webgpu'. */
  backend: string;
  /** What runs the kernels: CPU model and cores, the TensorFlow build, or the GPU adapter. */
  device: string;
  /** Whether native CPU kernels are registered (cpu backend only). */
  native: boolean;
  /** Things worth telling the user once (fallbacks); the caller decides where to print them. */
  notes: string[];
}

/** The backend the last initBackend started (null before, and after disposeBackend). */
let started: string | null = null;

function record(d: BackendDescription | null): void {
  started = d?.backend ?? null;
  setBackendDescription(d);
}

/**
 * Starts a backend. `settings` is the whole BackendSettings (settings.ts), or only a choice (auto, cpu, webgpu,
 * tensorflow) with the rest from this process's environment; by default all of it comes from the environment
 * (MLA_BACKEND, else auto). cpuOptions apply to the cpu backend over its settings (native kernels on/off,
 * threads, for comparisons). Calling it again switches backends.
 */
export async function initBackend(settings: BackendSettings | BackendChoice | string = backendSettings(), cpuOptions: CpuOptions = {}): Promise<BackendInit> {
  const s = typeof settings === 'string' ? backendSettings({ backend: settings }) : settings;
  const which = s.choice;
  if (which === 'tensorflow' || (which === 'auto' && !('reasons' in probeTensorflow()))) {
    const tfInit = await initTensorflow();
    record({ backend: 'tensorflow', device: tfInit.device, native: false, nativeKernels: [], threads: null, blas: null, keepFreedMB: 0, backendSettings: s });
    return { backend: 'tensorflow', device: tfInit.device, native: false, notes: [] };
  }
  if (which === 'webgpu') {
    const gpuInit = await initWebgpu(s.webgpu);
    record({ backend: 'webgpu', device: gpuInit.device, native: false, nativeKernels: [], threads: null, blas: null, keepFreedMB: 0, backendSettings: s });
    return { backend: 'webgpu', device: gpuInit.device, native: false, notes: [] };
  }
  const cpu = await initCpu(cpuOptions, s.cpu);
  // The options of this call override the environment's, so the record holds them (what ran is beside it).
  const cpuSettings = { ...s.cpu, native: cpuOptions.native ?? s.cpu.native, threads: cpuOptions.threads ?? s.cpu.threads, keepFreedMB: cpuOptions.keepFreedMB ?? s.cpu.keepFreedMB };
  record({
    backend: 'cpu',
    device: cpu.device,
    native: cpu.native,
    nativeKernels: cpu.nativeKernels,
    threads: cpu.threads,
    blas: cpu.blas,
    keepFreedMB: cpu.keepFreedMB,
    backendSettings: { ...s, cpu: cpuSettings },
  });
  return { backend: 'cpu', device: cpu.device, native: cpu.native, notes: cpu.notes };
}

/** The BLAS the addon links, whether or not the native kernels are on (null when it is not built). */
export function addonBlas(): string | null {
  return loadAddon().addon?.info().blas ?? null;
}

/**
 * Releases the backend's device. Dawn's threads keep Node's event loop alive after a WebGPU run, so a
 * CLI that used WebGPU should call this, then exitProcess.
 */
export function disposeBackend(): void {
  if (started === 'webgpu') disposeWebgpu();
  record(null);
}

/**
 * Ends the process with `code` once stdout and stderr have drained. Only needed after WebGPU (Dawn
 * can hold the process open); elsewhere it just sets the exit code and lets Node finish.
 */
export function exitProcess(code: number, usedWebgpu = tf.getBackend() === 'webgpu'): void {
  process.exitCode = code;
  disposeBackend();
  if (!usedWebgpu) return;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

/**
 * Frees the GPU memory of buffers pooled for reuse (tfjs-backend-webgpu keeps every freed buffer for a tensor of the
 * same size; lib/backend/webgpu/buffer-pool.ts bounds it): a benchmark calls it between points so that each starts
 * with the whole device, not the memory the last one left pooled. Returns the bytes freed; 0 off WebGPU.
 */
export function releasePooledMemory(): number {
  const manager = webgpuBufferManager();
  return manager ? emptyPool(manager) : 0;
}

/**
 * The largest buffer the active backend binds to one kernel, in bytes: WebGPU's device limit
 * maxStorageBufferBindingSize (a tensor past it cannot be bound, and Dawn reports that only as a device error);
 * null where there is no such limit (cpu, tensorflow).
 */
export function storageBindingLimit(): number | null {
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device?.limits;
  return typeof limits?.maxStorageBufferBindingSize === 'number' ? limits.maxStorageBufferBindingSize : null;
}
