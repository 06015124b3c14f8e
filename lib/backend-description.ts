// What every run and benchmark record says about where it ran: the description of the active backend, set by
// lib/backend's initBackend and read here by the trainer and the experiment runners, which thereby need no
// import of lib/backend (model, attention and training code import no backend; test/ops/layering.test.ts).
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendSettings, backendSettings } from './settings';

/** Everything a benchmark or run record should say about where it ran. */
export interface BackendDescription {
  backend: string;
  device: string;
  native: boolean;
  nativeKernels: string[];
  /** CPU threads for BLAS and the native kernels (1 for tfjs's JS kernels, null off the CPU backend). */
  threads: number | null;
  /** BLAS behind the native kernels, null when they are off. */
  blas: string | null;
  /** MiB of freed memory kept for reuse by the allocator tuning (0: allocator defaults). */
  keepFreedMB: number;
  /** The settings the backend was started with (which shaders, caches and threads), as initBackend got them. */
  backendSettings: BackendSettings;
}

let current: BackendDescription | null = null;

/** Records the backend initBackend started (null: none, after disposeBackend). */
export function setBackendDescription(d: BackendDescription | null): void {
  current = d;
}

/** The CPU's model and core count, e.g. "AMD EPYC 7B13 (2 cores)". */
export function cpuDevice(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} (${cpus.length} cores)`;
}

/** The active backend, for records. Describes tfjs's current backend even if initBackend was not called. */
export function describeBackend(): BackendDescription {
  const active = tf.getBackend();
  if (current && current.backend === active) return { ...current, nativeKernels: [...current.nativeKernels], backendSettings: structuredClone(current.backendSettings) };
  return {
    backend: active,
    device: active === 'cpu' ? cpuDevice() : 'unknown',
    native: false,
    nativeKernels: [],
    threads: active === 'cpu' ? 1 : null,
    blas: null,
    keepFreedMB: 0,
    backendSettings: backendSettings(),
  };
}
