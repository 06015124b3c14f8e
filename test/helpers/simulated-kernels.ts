// The project's WebGPU workgroup kernels registered on the 'cpu' backend, each running its shader translated to
// JavaScript (wgsl-js.ts): the same programs, inputs and uniforms the 'webgpu' registration uses, so the ops
// built on them (fused attention, LayerNorm) are tested end to end where no GPU exists.
import * as tf from '@tensorflow/tfjs-core';
import type { WorkgroupKernel, WorkgroupProgram } from '../../lib/backend/webgpu/program';
import { runWorkgroupShader } from './wgsl-js';

type CpuBackend = { readSync(id: object): ArrayLike<number>; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };

/** Runs a program over plain arrays (by the program's shader names) → its flat output. */
export function simulateProgram(p: WorkgroupProgram, inputs: ArrayLike<number>[]): Float32Array {
  const buffers = Object.fromEntries(p.names.map((name, i) => [name, Float32Array.from(inputs[i])]));
  const result = new Float32Array(p.size).fill(Number.NaN); // anything left unwritten shows
  const uniforms = Object.fromEntries(p.uniforms.map(([n, , v]) => [n, v]));
  runWorkgroupShader(p.wgsl(), { inputs: buffers, result, uniforms, dispatch: p.dispatch, workgroupSize: p.workgroupSize });
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
        const p = k.program(ins, attrs as unknown as Record<string, number>);
        const out = simulateProgram(p, ins.map((t) => cpu.readSync(t.dataId)));
        return cpu.makeTensorInfo([1, 1, p.size], 'float32', out);
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
