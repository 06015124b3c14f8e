// Running a hand-written WGSL body through tfjs-backend-webgpu: the backend declares the output buffer, the
// inputs by name, the uniforms and the entry point; the body supplies fn main.
import * as tf from '@tensorflow/tfjs-core';

interface WebgpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroup: [number, number, number]): [number, number, number];
}

export type ProgramRunner = { runWebGPUProgram(p: object, inputs: tf.TensorInfo[], dtype: string, uniforms: object[]): tf.TensorInfo };

/** Scalar uniforms: [name, WGSL type, value], in declaration order. */
export type Uniforms = [string, 'f32' | 'u32' | 'i32', number][];

export function uniformDeclarations(uniforms: Uniforms): string {
  return uniforms.map(([n, t]) => `${n} : ${t},`).join(' ');
}

/** One entry per scalar: tfjs aligns a multi-value entry as a vector, while the struct declares scalars. */
export function uniformData(uniforms: Uniforms): object[] {
  const types = { f32: 'float32', u32: 'uint32', i32: 'int32' } as const;
  return uniforms.map(([, t, v]) => ({ type: types[t], data: [v] }));
}

/**
 * Runs an elementwise shader over a flat index: `body` is WGSL with fn main(index : i32), reading the inputs
 * by their `names` and writing with setOutputAtIndex.
 */
export function runFlat(backend: unknown, key: string, body: string, shape: number[], inputs: tf.TensorInfo[], names: string[], uniforms: Uniforms): tf.TensorInfo {
  const util = (require('@tensorflow/tfjs-backend-webgpu') as { webgpu_util: WebgpuUtil }).webgpu_util;
  const workgroupSize: [number, number, number] = [64, 1, 1];
  const dispatchLayout = util.flatDispatchLayout(shape);
  const program = {
    variableNames: names,
    outputShape: shape,
    shaderKey: key,
    uniforms: uniformDeclarations(uniforms),
    workgroupSize,
    size: true,
    dispatchLayout,
    dispatch: util.computeDispatch(dispatchLayout, shape, workgroupSize),
    getUserCode: () => body,
  };
  return (backend as ProgramRunner).runWebGPUProgram(program, inputs, 'float32', uniformData(uniforms));
}
