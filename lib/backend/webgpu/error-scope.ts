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
  /**
   * The first out-of-memory, internal and validation error since the scope began (each scope keeps its first), as
   * one line, the cause first ('out-of-memory: …; then validation: …'); null when none.
   */
  end(): Promise<string | null>;
}

function activeDevice(): ScopedDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: Partial<ScopedDevice> }).device;
  return device && typeof device.pushErrorScope === 'function' && typeof device.popErrorScope === 'function' ? (device as ScopedDevice) : null;
}

const FILTERS = ['internal', 'out-of-memory', 'validation'] as const;
/** The order a scope's errors are reported in: the one that causes the others first. */
const CAUSE_FIRST = ['out-of-memory', 'internal', 'validation'] as const;

function open(device: ScopedDevice): GpuErrorScope {
  for (const f of FILTERS) device.pushErrorScope(f);
  let ended = false;
  return {
    end() {
      if (ended) return Promise.resolve(null);
      ended = true;
      // Popped at once and awaited after: the stack is the device's, so a scope pushed after this call (the next
      // step's) must not be the one these pops take.
      const order = [...FILTERS].reverse();
      const popped = order.map(() => device.popErrorScope());
      return Promise.all(popped).then((errors) => {
        // The cause first: a failed allocation (out-of-memory) or a lost device (internal) makes every later use of
        // the buffer a validation error ("Invalid Buffer … due to a previous error"), which says nothing by itself.
        const found = CAUSE_FIRST.map((f) => ({ f, e: errors[order.indexOf(f)] })).filter((x) => x.e);
        if (found.length === 0) return null;
        return found.map(({ f, e }, i) => `${i === 0 ? '' : 'then '}${f}: ${String(e!.message).split('\n')[0]}`).join('; ');
      });
    },
  };
}

/** Starts a scope on the active WebGPU device (pushed in this order, popped in reverse). */
export function gpuErrorScope(): GpuErrorScope {
  const device = activeDevice();
  return device ? open(device) : { end: async () => null };
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
 * Checks the scope so far and opens the next one: throws a DeviceError naming `where` (e.g. 'step 7') when the
 * device reported an error since the last check. Off WebGPU it does nothing.
 */
export type DeviceCheck = (where: string) => Promise<void>;

/**
 * Runs `fn` inside a Dawn error scope and throws a DeviceError naming `what` (the command: 'train', 'generate')
 * when the device reported an error, also when `fn` threw because of it (the GPU error is then the cause worth
 * naming). `fn` gets a DeviceCheck for long work: each call ends the scope so far and starts the next, so a
 * training run fails at the step whose command buffer was dropped instead of at its end (popping a scope waits
 * for the work inside it, so call it where the host waits for the device anyway). On any other backend it is
 * `fn` itself with a check that does nothing: no scope, no wrapper, nothing changed.
 */
export async function withDeviceErrorScope<T>(fn: (check: DeviceCheck) => Promise<T>, what = 'GPU work'): Promise<T> {
  const device = activeDevice();
  if (!device) return fn(async () => {});
  let scope = open(device);
  const check: DeviceCheck = async (where) => {
    const ended = scope.end(); // pops first, then the next scope is pushed
    scope = open(device);
    const gpuError = await ended;
    if (gpuError) throw new DeviceError(`${what}, ${where}`, gpuError);
  };
  let value: T;
  try {
    value = await fn(check);
  } catch (err) {
    const gpuError = await scope.end();
    if (err instanceof DeviceError) throw err; // a check found it first: the earliest error, at its step
    if (gpuError) throw new DeviceError(what, gpuError, { cause: err });
    throw err;
  }
  const gpuError = await scope.end();
  if (gpuError) throw new DeviceError(what, gpuError);
  return value;
}
