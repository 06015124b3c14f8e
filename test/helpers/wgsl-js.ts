// The project's WGSL shaders run as JavaScript, so their logic is tested on the CPU where no GPU exists. Both
// kinds go through the typed translation of wgsl-typed.ts: f32 results rounded to f32 at every operation (and
// in workgroup memory), i32 and u32 arithmetic wrapped at 32 bits, integer division truncated by type.
import { type ArrayType, type ScalarType, type WgslBindings, translateFlatWgsl, translateWgslStatements, translateWorkgroupWgsl } from './wgsl-typed';

/**
 * Runs a flat elementwise body (helper fns, then fn main(index : i32) { … setOutputAtIndex(index, expr); }) over
 * `size` indices. `uniformTypes` declares the uniforms' types as the kernel's runFlat call does; an undeclared
 * one takes the type of what it meets. `_integerDivisions` is no longer needed (types decide which divisions
 * are integer) and is ignored.
 */
export function runFlatWgsl(
  body: string,
  inputs: Record<string, ArrayLike<number>>,
  uniforms: Record<string, number>,
  size: number,
  _integerDivisions: string[] = [],
  uniformTypes: Record<string, ScalarType> = {},
): Float32Array {
  const names = Object.keys(inputs);
  const js = translateFlatWgsl(body, names, uniformTypes);
  const out = new Float32Array(size);
  // eslint-disable-next-line no-new-func
  const make = new Function(...names, 'uniforms', 'out', js) as (...a: unknown[]) => (i: number) => void;
  const main = make(...names.map((n) => Float32Array.from(inputs[n])), { ...typedUniforms(uniforms, uniformTypes), size }, out);
  for (let i = 0; i < size; i++) main(i);
  return out;
}

/** Uniform values as the shader receives them: f32 rounded, i32 and u32 as 32-bit integers. */
function typedUniforms(uniforms: Record<string, number>, types: Record<string, ScalarType>): Record<string, number> {
  const as = (v: number, t: ScalarType | undefined) => (t === 'f32' ? Math.fround(v) : t === 'u32' ? v >>> 0 : t === 'i32' ? v | 0 : v);
  return Object.fromEntries(Object.entries(uniforms).map(([k, v]) => [k, as(v, types[k])]));
}

export type Vec3 = { x: number; y: number; z: number };
type Thread = (localId: Vec3, globalId: Vec3, workgroupId: Vec3) => Generator<void, void, void>;
type Factory = (...args: unknown[]) => Thread;

export interface WorkgroupRun {
  /** Input buffers by their names in the shader: numbers, or arrays of 4 for a buffer bound as vec4s. */
  inputs: Record<string, ArrayLike<number> | ArrayLike<number[]>>;
  /** Element types of the inputs (a tfjs int32 tensor is array<i32>); default f32, or vec4<f32> for arrays of 4. */
  inputTypes?: Record<string, ArrayType>;
  /** The result buffer: f32 (or i32) values, or arrays of 4 with resultType vec4f. */
  result: Float32Array | number[][];
  /** The result's element type (default f32; vec4f for a program with tfjs's outputComponent 4). */
  resultType?: ArrayType;
  uniforms: Record<string, number>;
  /** The uniforms' WGSL types; an undeclared one is i32 when its value is an integer, else f32. */
  uniformTypes?: Record<string, ScalarType>;
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Ignored: the types decide which divisions are integer (kept so older callers still compile). */
  integerDivisions?: RegExp | string[];
}

const factories = new Map<string, Factory>();

/** The translated factory of a shader under these types, compiled once (the kernel tests run each shader many times). */
function factoryOf(wgsl: string, inputs: Record<string, ArrayType>, uniforms: Record<string, ScalarType>, result: ArrayType = 'f32'): Factory {
  const key = JSON.stringify([wgsl, inputs, uniforms, result]);
  let f = factories.get(key);
  if (!f) {
    // eslint-disable-next-line no-new-func
    f = new Function(translateWorkgroupWgsl(wgsl, inputs, uniforms, result))() as Factory;
    factories.set(key, f);
  }
  return f;
}

/** An input as the shader's buffer: f32 values rounded, integers as 32-bit, vec4s as rounded arrays of 4. */
function asBuffer(values: ArrayLike<number> | ArrayLike<number[]>, type: ArrayType): unknown {
  if (type === 'vec4f') return Array.from(values as ArrayLike<number[]>, (v) => v.map(Math.fround));
  const flat = values as ArrayLike<number>;
  if (type === 'i32') return flat instanceof Int32Array ? flat : Int32Array.from(flat);
  if (type === 'u32') return flat instanceof Uint32Array ? flat : Uint32Array.from(flat);
  return flat instanceof Float32Array ? flat : Float32Array.from(flat);
}

/**
 * Runs a workgroup shader (module-scope var<workgroup> arrays, helper fns, fn main() with workgroupBarrier
 * calls) over its whole dispatch: each workgroup's threads step in lockstep from barrier to barrier, and
 * every thread must reach every barrier (WGSL's uniform control flow).
 */
export function runWorkgroupShader(wgsl: string, run: WorkgroupRun): void {
  const names = Object.keys(run.inputs);
  const inputTypes: Record<string, ArrayType> = Object.fromEntries(
    names.map((n) => [n, run.inputTypes?.[n] ?? (Array.isArray((run.inputs[n] as ArrayLike<unknown>)[0]) ? 'vec4f' : 'f32')]),
  );
  const uniformTypes: Record<string, ScalarType> = Object.fromEntries(
    Object.entries(run.uniforms).map(([k, v]) => [k, run.uniformTypes?.[k] ?? (Number.isInteger(v) ? 'i32' : 'f32')]),
  );
  const factory = factoryOf(wgsl, inputTypes, uniformTypes, run.resultType);
  const buffers = names.map((n) => asBuffer(run.inputs[n], inputTypes[n]));
  const uniforms = typedUniforms(run.uniforms, uniformTypes);
  const [wx, wy, wz] = run.workgroupSize;
  const numWorkgroups = { x: run.dispatch[0], y: run.dispatch[1], z: run.dispatch[2] };
  for (let gz = 0; gz < run.dispatch[2]; gz++) {
    for (let gy = 0; gy < run.dispatch[1]; gy++) {
      for (let gx = 0; gx < run.dispatch[0]; gx++) {
        const workgroup = factory(...buffers, run.result, uniforms, numWorkgroups); // one copy of workgroup memory
        const threads: Generator<void, void, void>[] = [];
        for (let tz = 0; tz < wz; tz++) {
          for (let ty = 0; ty < wy; ty++) {
            for (let tx = 0; tx < wx; tx++) {
              const global = { x: gx * wx + tx, y: gy * wy + ty, z: gz * wz + tz };
              threads.push(workgroup({ x: tx, y: ty, z: tz }, global, { x: gx, y: gy, z: gz }));
            }
          }
        }
        for (;;) {
          const done = threads.map((t) => t.next().done);
          if (!done.every((d) => d === done[0])) throw new Error('a barrier was not reached by every thread of the workgroup (non-uniform control flow)');
          if (done[0]) break;
        }
      }
    }
  }
}

/**
 * A statement list (an element body such as the in-place AdamW update) as a JavaScript function of its
 * arrays, structs and locals, in the order `params` names them.
 */
export function wgslStatementsFn(body: string, bindings: WgslBindings, params: string[]): (...args: unknown[]) => void {
  // eslint-disable-next-line no-new-func
  return new Function(...params, translateWgslStatements(body, bindings)) as (...args: unknown[]) => void;
}
