// Dawn error scopes around GPU work. An invalid pipeline or an allocation that fails makes Dawn drop the whole
// command buffer, and its results then read back as zeros without any exception: a benchmark or a check would
// report a fast, wrong run. pushErrorScope/popErrorScope on the device tfjs-backend-webgpu computes with turns
// such an error into a message. Off WebGPU a scope catches nothing and ends with null.
// (This belongs with the WebGPU backend, lib/backend/webgpu/, once that layout is in place.)
import * as tf from '@tensorflow/tfjs-core';

/** The few members of a GPUDevice a scope uses (the DOM typings describe the browser's, not Dawn's binding). */
interface ScopedDevice {
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

export interface GpuErrorScope {
  /** The first validation, out-of-memory or internal error since the scope began, as one line; null when none. */
  end(): Promise<string | null>;
}

function activeDevice(): ScopedDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: Partial<ScopedDevice> }).device;
  return device && typeof device.pushErrorScope === 'function' && typeof device.popErrorScope === 'function' ? (device as ScopedDevice) : null;
}

const FILTERS = ['internal', 'out-of-memory', 'validation'] as const;

/** Starts a scope on the active WebGPU device (pushed in this order, popped in reverse). */
export function gpuErrorScope(): GpuErrorScope {
  const device = activeDevice();
  if (!device) return { end: async () => null };
  for (const f of FILTERS) device.pushErrorScope(f);
  let ended = false;
  return {
    async end() {
      if (ended) return null;
      ended = true;
      let first: string | null = null;
      for (const f of [...FILTERS].reverse()) {
        const e = await device.popErrorScope();
        if (e && first === null) first = `${f}: ${String(e.message).split('\n')[0]}`;
      }
      return first;
    },
  };
}

/**
 * Runs `work` inside a scope and returns its value with the scope's error (null when none). An exception of
 * `work` still ends the scope, so scopes never leak onto the device.
 */
export async function withGpuErrorScope<T>(work: () => Promise<T>): Promise<{ value: T; gpuError: string | null }> {
  const scope = gpuErrorScope();
  let value: T;
  try {
    value = await work();
  } catch (err) {
    await scope.end();
    throw err;
  }
  return { value, gpuError: await scope.end() };
}
