// Running a hand-written WGSL body through tfjs-backend-webgpu: the backend declares the output buffer, the
// inputs by name, the uniforms and the entry point; the body supplies fn main.
import * as tf from '@tensorflow/tfjs-core';
import { type StageDispatch, type UniformEntry, positionalCall } from './step-graph';

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
export function runFlat(backend: unknown, key: string, body: string, shape: number[], inputs: tf.TensorInfo[], names: string[], uniforms: Uniforms, positional?: (shift: number) => Uniforms): tf.TensorInfo {
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
  const run = () => (backend as ProgramRunner).runWebGPUProgram(program, inputs, 'float32', uniformData(uniforms));
  // `positional`: its uniforms `shift` positions on (a step graph recomputes them; the shape, so the dispatch, stays).
  return positional ? positionalCall((shift) => [{ key, dispatch: program.dispatch, uniforms: uniformData(positional(shift)) as UniformEntry[] }], run) : run();
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

/** One shader of a kernel that runs several in turn. */
export interface WorkgroupStage extends WorkgroupProgram {
  /**
   * The tensors it reads, as indices into the kernel's inputs followed by the outputs of the stages before it
   * (default: the kernel's inputs). The last stage's output is the kernel's; the others are freed.
   */
  reads?: number[];
}

/** A kernel made of one workgroup shader: its inputs by tfjs name (the shader sees `names` of the program). */
export interface WorkgroupKernel {
  kernelName: string;
  /** Its inputs by tfjs name, in order; a name the call does not pass is left out (an optional input). */
  inputs: string[];
  program(inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram;
  /** Where present, what runs instead of `program`: shaders in turn (a split pass and its combine). */
  stages?(inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupStage[];
  /**
   * The attributes of this call that are decode positions (advance by one a step): what a step graph shifts to
   * recompute the call's uniforms and workgroups at a later position (lib/ops/step-graph.ts). None: the call's
   * dispatches must not change with the position.
   */
  positional?(attrs: Record<string, number>): string[];
}

/** A stage as a step graph replays it. */
export function stageDispatch(s: WorkgroupProgram): StageDispatch {
  return { key: s.key, dispatch: s.dispatch, uniforms: uniformData(s.uniforms) as StageDispatch['uniforms'] };
}

/** attrs with each named attribute moved on by `shift`. */
export function shiftedAttrs(attrs: Record<string, number>, names: readonly string[], shift: number): Record<string, number> {
  const out = { ...attrs };
  for (const n of names) out[n] = attrs[n] + shift;
  return out;
}

/** A kernel's inputs in its order; optional ones the call left out are skipped (the program names what it binds). */
export function kernelInputs(k: WorkgroupKernel, inputs: Record<string, tf.TensorInfo | undefined>): tf.TensorInfo[] {
  return k.inputs.map((n) => inputs[n]).filter((t): t is tf.TensorInfo => t !== undefined);
}

/** The shaders a kernel runs for these inputs: its stages, else its one program. */
export function kernelStages(k: WorkgroupKernel, inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupStage[] {
  return k.stages ? k.stages(inputs, attrs) : [k.program(inputs, attrs)];
}

/**
 * Runs stages in turn, each on what it reads (`reads`), with `run`; frees every output but the last with `free`.
 * Generic over the tensor type so that the tests' CPU simulation runs the same sequence.
 */
export function runStages<T>(stages: WorkgroupStage[], inputs: T[], run: (p: WorkgroupStage, ins: T[]) => T, free: (t: T) => void): T {
  if (stages.length === 0) throw new Error('a kernel needs at least one stage');
  const pool = [...inputs];
  const outputs: T[] = [];
  for (const s of stages) {
    const ins = s.reads ? s.reads.map((i) => pool[i]) : inputs;
    if (ins.some((t) => t === undefined)) throw new Error(`stage ${s.key} reads [${s.reads}] of ${pool.length} tensors`);
    const out = run(s, ins);
    pool.push(out);
    outputs.push(out);
  }
  for (const t of outputs.slice(0, -1)) free(t);
  return outputs[outputs.length - 1];
}

/** Registers each kernel on 'webgpu' (tests register the same programs on 'cpu' through a WGSL simulator). */
export function registerWorkgroupKernels(kernels: WorkgroupKernel[]): void {
  for (const k of kernels) {
    if (tf.getKernel(k.kernelName, 'webgpu')) continue;
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ backend, inputs, attrs }) => {
        const ins = kernelInputs(k, inputs as Record<string, tf.TensorInfo>);
        const a = attrs as unknown as Record<string, number>;
        const stages = kernelStages(k, ins, a);
        const free = (t: tf.TensorInfo) => (backend as unknown as { disposeData(id: object): void }).disposeData(t.dataId);
        const run = () => runStages(stages, ins, (p, xs) => runWorkgroupProgram(backend, p, xs), free);
        const names = k.positional?.(a) ?? [];
        if (names.length === 0) return run();
        return positionalCall((shift) => (shift === 0 ? stages : kernelStages(k, ins, shiftedAttrs(a, names, shift))).map(stageDispatch), run);
      },
    });
  }
}


/** The device's workgroup memory in bytes (tfjs asks for the adapter's); unbounded where no GPU device runs the shader (the tests' CPU). */
export function workgroupStorage(): number {
  const device = (tf.backend() as unknown as { device?: { limits?: { maxComputeWorkgroupStorageSize?: number } } }).device;
  return device?.limits?.maxComputeWorkgroupStorageSize ?? Number.POSITIVE_INFINITY;
}
