// Dawn error scopes around GPU work. An invalid pipeline or an allocation that fails makes Dawn drop the whole
// command buffer, and its results then read back as zeros without any exception: a training run, an evaluation
// or a benchmark would report a fast, wrong result. pushErrorScope/popErrorScope on the device
// tfjs-backend-webgpu computes with turns such an error into a message. Off WebGPU there is no scope: a scope
// catches nothing and ends with null, and withDeviceErrorScope only calls its function.
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../errors';

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

function open(device: ScopedDevice): GpuErrorScope {
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

/** Starts a scope on the active WebGPU device (pushed in this order, popped in reverse). */
export function gpuErrorScope(): GpuErrorScope {
  const device = activeDevice();
  return device ? open(device) : { end: async () => null };
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

/** GPU work whose device reported an error: its results are not to be trusted. One line: what ran, and Dawn's error. */
export class DeviceError extends BackendError {
  constructor(
    readonly what: string,
    readonly gpuError: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}: the GPU device reported an error, so its results are not trustworthy (a dropped command buffer reads as zeros): ${gpuError}`);
    this.name = 'DeviceError';
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * Runs `fn` inside a Dawn error scope and throws a DeviceError naming `what` (the command: 'train', 'generate')
 * when the device reported an error, also when `fn` threw because of it (the GPU error is then the cause worth
 * naming). On any other backend it is `fn()` itself: no scope, no wrapper, nothing changed.
 */
export async function withDeviceErrorScope<T>(fn: () => Promise<T>, what = 'GPU work'): Promise<T> {
  const device = activeDevice();
  if (!device) return fn();
  const scope = open(device);
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    const gpuError = await scope.end();
    if (gpuError) throw new DeviceError(what, gpuError, { cause: err });
    throw err;
  }
  const gpuError = await scope.end();
  if (gpuError) throw new DeviceError(what, gpuError);
  return value;
}
