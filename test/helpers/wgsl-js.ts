// The project's WGSL shader bodies translated to JavaScript, so their logic is tested on the CPU where no GPU
// exists. Handles the subset those shaders use: let/var bindings, for loops, arithmetic, indexing.

/** WGSL statements → JavaScript: let → const, var → let, and the i32 divisions truncated as WGSL does. */
export function wgslToJs(src: string, integerDivisions: RegExp | string[]): string {
  let js = src.replace(/\blet (\w+) =/g, 'const $1 =').replace(/\bvar (\w+) =/g, 'let $1 =');
  if (integerDivisions instanceof RegExp) return js.replace(integerDivisions, (d) => `Math.trunc(${d})`);
  for (const d of integerDivisions) js = js.split(d).join(`Math.trunc(${d})`);
  return js;
}

/**
 * Runs a flat elementwise body (fn main(index : i32) { … setOutputAtIndex(index, expr); }) over `size` indices.
 * `integerDivisions` lists its i32 divisions (e.g. 'index / uniforms.mn'); its other divisions are f32.
 */
export function runFlatWgsl(body: string, inputs: Record<string, ArrayLike<number>>, uniforms: Record<string, number>, size: number, integerDivisions: string[] = []): Float32Array {
  const js = wgslToJs(body, integerDivisions)
    .replace('fn main(index : i32) {', 'return function (index) {')
    .replace(/setOutputAtIndex\(index, (.*)\);/, 'out[index] = $1;');
  const names = Object.keys(inputs);
  const out = new Float32Array(size);
  // eslint-disable-next-line no-new-func
  const make = new Function(...names, 'uniforms', 'out', 'sqrt', `${js};`) as (...a: unknown[]) => (i: number) => void;
  const main = make(...names.map((n) => inputs[n]), { ...uniforms, size }, out, Math.sqrt);
  for (let i = 0; i < size; i++) main(i);
  return out;
}
