// The project's WebGPU workgroup kernels registered on the 'cpu' backend, each running its shader translated to
// JavaScript (wgsl-js.ts, f32-faithful): the same programs, inputs, uniforms and their types the 'webgpu'
// registration uses, so the ops built on them (fused attention, LayerNorm) are tested end to end where no GPU exists.
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, kernelInputs, kernelStages, runStages } from '../../lib/backend/webgpu/program';
import { runFlatWgsl, runWorkgroupShader } from './wgsl-js';
import { CACHE_WRITE_FROM_KERNEL, type CacheWriteFromAttrs } from '../../lib/ops/cache-write';
import {
  HEADS_THREADS, cacheWriteFromDispatch, cacheWriteFromNames, cacheWriteFromPlan, cacheWriteFromUniforms, cacheWriteFromWgsl,
} from '../../lib/backend/webgpu/kernels/decode-heads';

type CpuBackend = { readSync(id: object): ArrayLike<number>; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };

/**
 * Runs a program over plain arrays (by the program's shader names) → its flat output. `dtypes` are the input
 * tensors' dtypes: tfjs binds an int32 tensor as array<i32>, anything else here as array<f32>.
 */
export function simulateProgram(p: WorkgroupProgram, inputs: ArrayLike<number>[], dtypes: string[] = []): Float32Array {
  const buffers = Object.fromEntries(p.names.map((name, i) => [name, inputs[i]]));
  const inputTypes = Object.fromEntries(p.names.map((name, i) => [name, dtypes[i] === 'int32' ? ('i32' as const) : ('f32' as const)]));
  const result = new Float32Array(p.size).fill(Number.NaN); // anything left unwritten shows
  const uniforms = Object.fromEntries(p.uniforms.map(([n, , v]) => [n, v]));
  const uniformTypes = Object.fromEntries(p.uniforms.map(([n, t]) => [n, t]));
  runWorkgroupShader(p.wgsl(), { inputs: buffers, inputTypes, result, uniforms, uniformTypes, dispatch: p.dispatch, workgroupSize: p.workgroupSize });
  return result;
}

/** Registers the kernels on 'cpu'; returns the function that unregisters them. */
export function registerSimulated(kernels: WorkgroupKernel[]): () => void {
  for (const k of kernels) {
    if (tf.getKernel(k.kernelName, 'cpu')) tf.unregisterKernel(k.kernelName, 'cpu');
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: 'cpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const cpu = backend as unknown as CpuBackend;
        const ins = kernelInputs(k, inputs as Record<string, tf.TensorInfo>);
        const stages = kernelStages(k, ins, attrs as unknown as Record<string, number>);
        // Each stage on plain arrays: the kernel's inputs as read, and the earlier stages' outputs (f32).
        const arrays = ins.map((t) => ({ values: cpu.readSync(t.dataId), dtype: t.dtype }));
        const run = (p: WorkgroupProgram, xs: { values: ArrayLike<number>; dtype: string }[]) => ({ values: simulateProgram(p, xs.map((x) => x.values), xs.map((x) => x.dtype)), dtype: 'float32' });
        const out = runStages(stages, arrays, run, () => {});
        return cpu.makeTensorInfo([1, 1, out.values.length], 'float32', out.values as Float32Array);
      },
    });
  }
  return () => {
    for (const k of kernels) if (tf.getKernel(k.kernelName, 'cpu')) tf.unregisterKernel(k.kernelName, 'cpu');
  };
}

/** Runs f with the kernels registered on 'cpu', unregistering them afterwards whatever happens. */
export function withSimulated<T>(kernels: WorkgroupKernel[], f: () => T): T {
  const unregister = registerSimulated(kernels);
  try {
    return f();
  } finally {
    unregister();
  }
}

/**
 * The in-place cache write from rows (lib/backend/webgpu/kernels/decode-heads.ts) on 'cpu': its shader translated to
 * JavaScript runs with the buffer's own values as `result`, which are then the buffer's (the result is the buffer's
 * storage, as on the GPU). Returns the function that unregisters it.
 */
export function registerSimulatedCacheWriteFrom(): () => void {
  const name = CACHE_WRITE_FROM_KERNEL;
  if (tf.getKernel(name, 'cpu')) tf.unregisterKernel(name, 'cpu');
  tf.registerKernel({
    kernelName: name,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackend & { data: { get(id: object): { values: Float32Array } }; incRef(id: object): void };
      const a = attrs as unknown as CacheWriteFromAttrs;
      const ins = inputs as Record<string, tf.TensorInfo | undefined>;
      const buf = ins.buf!;
      const p = cacheWriteFromPlan(a);
      const sources = ['src0', 'src1', 'cos', 'sin', 'gamma', 'beta'].map((n) => ins[n]).filter((x): x is tf.TensorInfo => x !== undefined);
      const names = cacheWriteFromNames(p);
      const uniforms = cacheWriteFromUniforms(buf.shape, [ins.src0!.shape, ...(ins.src1 ? [ins.src1.shape] : [])], a);
      const dst = cpu.data.get(buf.dataId).values;
      runWorkgroupShader(cacheWriteFromWgsl(p), {
        inputs: Object.fromEntries(names.map((n, i) => [n, cpu.readSync(sources[i].dataId)])),
        result: dst,
        uniforms: Object.fromEntries(uniforms.map(([n, , v]) => [n, v])),
        uniformTypes: Object.fromEntries(uniforms.map(([n, t]) => [n, t])),
        dispatch: cacheWriteFromDispatch(B_T(ins.src0!)),
        workgroupSize: [HEADS_THREADS, 1, 1],
      });
      cpu.incRef(buf.dataId);
      return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
    },
  });
  return () => {
    if (tf.getKernel(name, 'cpu')) tf.unregisterKernel(name, 'cpu');
  };
}

/** Rows (B·t) of a (B, t, ·) source. */
const B_T = (src: tf.TensorInfo) => (src.shape[0] as number) * (src.shape[1] as number);

/**
 * A runFlat shader (lib/backend/webgpu/program.ts) registered as the 'cpu' kernel `kernelName` for the duration of
 * f, run through the WGSL translator: its inputs bound under `names` (the kernel's inputs in that order), its
 * output shaped like the first input, its uniforms as `uniformsOf(first input's shape, attrs)` declares them.
 */
export function withFlatWgslKernel<T>(
  kernelName: string,
  wgsl: string,
  names: string[],
  uniformsOf: (shape: number[], attrs: Record<string, unknown>) => [string, 'i32' | 'u32' | 'f32', number][],
  f: () => T,
): T {
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as { readSync(id: object): Float32Array; makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
      const ins = Object.values(inputs as Record<string, tf.TensorInfo>);
      const declared = uniformsOf(ins[0].shape, attrs as Record<string, unknown>);
      const uniforms = Object.fromEntries(declared.map(([n, , v]) => [n, v]));
      const types = Object.fromEntries(declared.map(([n, t]) => [n, t]));
      const size = ins[0].shape.reduce((a, b) => a * b, 1);
      const out = runFlatWgsl(wgsl, Object.fromEntries(names.map((n, i) => [n, cpu.readSync(ins[i].dataId)])), uniforms, size, [], types);
      return cpu.makeTensorInfo(ins[0].shape, 'float32', out);
    },
  });
  try {
    return f();
  } finally {
    tf.unregisterKernel(kernelName, 'cpu');
  }
}
