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

/** Workgroups per row of a folded dispatch: WebGPU allows 65,535 workgroups per axis. */
export const FOLD_ROW = 32768;

/** `count` workgroups as (x, y, 1), folded at FOLD_ROW: workgroup (x, y) is number y·FOLD_ROW + x. */
export function foldedDispatch(count: number): [number, number, number] {
  return [Math.min(count, FOLD_ROW), Math.ceil(count / FOLD_ROW), 1];
}

/** WGSL: the number of this workgroup in a folded dispatch (an i32). */
export const FOLDED_WORKGROUP = `(i32(workgroupId.y) * ${FOLD_ROW} + i32(workgroupId.x))`;

export interface WorkgroupProgram {
  /** Names the pipeline cache; must change whenever the WGSL does. */
  key: string;
  /** The shader's source, built only when tfjs compiles it (once per key). */
  wgsl: () => string;
  /** Shader names of the inputs, in order. */
  names: string[];
  /** Output length (written flat; the result's shape is (1, 1, size)). */
  size: number;
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: Uniforms;
}

/**
 * Runs a shader whose fn main() (no index) places its own work by workgroup and local ids: the layout below is
 * not a flat one, so tfjs calls main() without an index, and the dispatch is what counts.
 */
export function runWorkgroupProgram(backend: unknown, p: WorkgroupProgram, inputs: tf.TensorInfo[]): tf.TensorInfo {
  const program = {
    variableNames: p.names,
    outputShape: [1, 1, p.size],
    shaderKey: p.key,
    uniforms: uniformDeclarations(p.uniforms),
    workgroupSize: p.workgroupSize,
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: p.dispatch,
    getUserCode: p.wgsl,
  };
  return (backend as ProgramRunner).runWebGPUProgram(program, inputs, 'float32', uniformData(p.uniforms));
}

/** A kernel made of one workgroup shader: its inputs by tfjs name (the shader sees `names` of the program). */
export interface WorkgroupKernel {
  kernelName: string;
  inputs: string[];
  program(inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram;
}

/** Registers each kernel on 'webgpu' (tests register the same programs on 'cpu' through a WGSL simulator). */
export function registerWorkgroupKernels(kernels: WorkgroupKernel[]): void {
  for (const k of kernels) {
    if (tf.getKernel(k.kernelName, 'webgpu')) continue;
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ backend, inputs, attrs }) => {
        const ins = k.inputs.map((n) => (inputs as Record<string, tf.TensorInfo>)[n]);
        return runWorkgroupProgram(backend, k.program(ins, attrs as unknown as Record<string, number>), ins);
      },
    });
  }
}

