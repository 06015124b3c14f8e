// The project's WGSL shader bodies translated to JavaScript, so their logic is tested on the CPU where no GPU
// exists. Handles the subset those shaders use: let/var bindings, for loops, arithmetic, indexing. Flat bodies go
// through wgsl-typed.ts (f32-faithful); workgroup shaders keep the line-by-line translation below, with shared
// arrays of f32 (stores round to f32, arithmetic between them is not yet rounded per operation).
import { type ScalarType, translateFlatWgsl } from './wgsl-typed';

/** WGSL statements → JavaScript: let → const, var → let, and the i32 divisions truncated as WGSL does. */
export function wgslToJs(src: string, integerDivisions: RegExp | string[]): string {
  let js = src.replace(/\blet (\w+) =/g, 'const $1 =').replace(/\bvar (\w+) =/g, 'let $1 =');
  if (integerDivisions instanceof RegExp) return js.replace(integerDivisions, (d) => `Math.trunc(${d})`);
  for (const d of integerDivisions) js = js.split(d).join(`Math.trunc(${d})`);
  return js;
}

/**
 * Runs a flat elementwise body (helper fns, then fn main(index : i32) { … setOutputAtIndex(index, expr); }) over
 * `size` indices, through the typed translation of wgsl-typed.ts: f32 results rounded to f32 at every operation,
 * i32 and u32 arithmetic wrapped at 32 bits, integer division truncated by type. `uniformTypes` declares the
 * uniforms' types as the kernel's runFlat call does; an undeclared one takes the type of what it meets.
 * `integerDivisions` is no longer needed (types decide which divisions are integer) and is ignored.
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
  // Uniforms reach the shader as f32, i32 or u32 values.
  const typed = Object.fromEntries(Object.entries(uniforms).map(([k, v]) => [k, uniformTypes[k] === 'f32' ? Math.fround(v) : v]));
  // eslint-disable-next-line no-new-func
  const make = new Function(...names, 'uniforms', 'out', js) as (...a: unknown[]) => (i: number) => void;
  const main = make(...names.map((n) => inputs[n]), { ...typed, size }, out);
  for (let i = 0; i < size; i++) main(i);
  return out;
}

export type Vec3 = { x: number; y: number; z: number };
type Thread = (localId: Vec3, globalId: Vec3, workgroupId: Vec3) => Generator<void, void, void>;

/**
 * The WGSL builtins these shaders use, in JavaScript. Vectors are arrays; the shaders keep vector arithmetic
 * in calls (vec4, dot, fma and their own fa_scale) so that operators only ever see scalars.
 */
const BUILTINS = `
const i32 = (v) => v | 0;
const select = (f, t, c) => (c ? t : f);
const fma = (a, b, c) => (Array.isArray(a) ? a.map((x, i) => x * b[i] + c[i]) : a * b + c);
const min = Math.min;
const max = Math.max;
const exp2 = (x) => 2 ** x;
const exp = Math.exp;
const log = Math.log;
const log2 = Math.log2;
const inverseSqrt = (x) => 1 / Math.sqrt(x);
const vec4 = (...v) => (v.length === 1 ? [v[0], v[0], v[0], v[0]] : v);
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
const fa_scale = (a, s) => a.map((x) => x * s);
const fa_div = (a, b) => Math.trunc(a / b);
const fa_mod = (a, b) => a % b;`;

/**
 * A compute shader body (module-scope var<workgroup> arrays, one-line helper fns, fn main() with
 * workgroupBarrier calls) as a factory of one workgroup's thread generators: each barrier is a yield.
 * `integerDivisions` marks its i32 divisions (other `/` are f32); the helper fns are replaced by BUILTINS.
 */
function translateWorkgroupShader(wgsl: string, inputNames: string[], integerDivisions: RegExp | string[]) {
  const shared: string[] = [];
  const statements = wgsl
    .split('\n')
    .filter((line) => {
      const m = /^var<workgroup> (\w+) : array<(f32|vec4<f32>), (\d+)>;/.exec(line.trim());
      if (m) shared.push(m[2] === 'f32' ? `const ${m[1]} = new Float32Array(${m[3]});` : `const ${m[1]} = Array.from({ length: ${m[3]} }, () => [0, 0, 0, 0]);`);
      return !m && !/^fn (?!main\b)\w+\(.*\}$/.test(line.trim());
    })
    .join('\n');
  const body = wgslToJs(statements, integerDivisions)
    .replace(/vec4<f32>\(/g, 'vec4(')
    .replace('fn main() {', 'return function* (localId, globalId, workgroupId) {')
    .replace(/workgroupBarrier\(\);/g, 'yield;');
  // eslint-disable-next-line no-new-func
  const make = new Function(...inputNames, 'result', 'uniforms', 'numWorkgroups', `${BUILTINS}\n${shared.join('\n')}\n${body};`);
  return make as (...args: unknown[]) => Thread;
}

export interface WorkgroupRun {
  /** Input buffers by their names in the shader: floats, or arrays of 4 for a buffer bound as vec4s. */
  inputs: Record<string, ArrayLike<number> | ArrayLike<number[]>>;
  result: Float32Array;
  uniforms: Record<string, number>;
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  integerDivisions?: RegExp | string[];
}

/**
 * Runs a translated workgroup shader over its whole dispatch: each workgroup's threads step in lockstep
 * from barrier to barrier, and every thread must reach every barrier (WGSL's uniform control flow).
 */
export function runWorkgroupShader(wgsl: string, run: WorkgroupRun): void {
  const names = Object.keys(run.inputs);
  const factory = translateWorkgroupShader(wgsl, names, run.integerDivisions ?? []);
  const [wx, wy, wz] = run.workgroupSize;
  for (let gz = 0; gz < run.dispatch[2]; gz++) {
    for (let gy = 0; gy < run.dispatch[1]; gy++) {
      for (let gx = 0; gx < run.dispatch[0]; gx++) {
        const numWorkgroups = { x: run.dispatch[0], y: run.dispatch[1], z: run.dispatch[2] };
        const workgroup = factory(...names.map((n) => run.inputs[n]), run.result, run.uniforms, numWorkgroups); // one copy of the shared arrays
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
