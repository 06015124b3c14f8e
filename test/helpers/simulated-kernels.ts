// The project's WebGPU workgroup kernels registered on the 'cpu' backend, each running its shader translated to
// JavaScript (wgsl-js.ts, f32-faithful): the same programs, inputs, uniforms and their types the 'webgpu'
// registration uses, so the ops built on them (fused attention, LayerNorm) are tested end to end where no GPU exists.
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, kernelStages, runStages } from '../../lib/backend/webgpu/program';
import { runWorkgroupShader } from './wgsl-js';

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
        const ins = k.inputs.map((n) => (inputs as Record<string, tf.TensorInfo>)[n]);
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
