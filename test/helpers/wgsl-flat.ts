// Runs a flat elementwise WGSL body (fn main(index : i32) { … setOutputAtIndex(index, expr); }) on the CPU by
// translating it to JavaScript, so the formulas in the shaders are tested where no GPU exists. Handles the
// subset those shaders use: let bindings, float arithmetic, sqrt, indexing of the named inputs.
export function runFlatWgsl(body: string, inputs: Record<string, ArrayLike<number>>, uniforms: Record<string, number>, size: number): Float32Array {
  const js = body
    .replace('fn main(index : i32) {', 'return function (index) {')
    .replace(/\blet (\w+) =/g, 'const $1 =')
    .replace(/setOutputAtIndex\(index, (.*)\);/, 'out[index] = $1;');
  const names = Object.keys(inputs);
  const out = new Float32Array(size);
  // eslint-disable-next-line no-new-func
  const make = new Function(...names, 'uniforms', 'out', 'sqrt', `${js};`) as (...a: unknown[]) => (i: number) => void;
  const main = make(...names.map((n) => inputs[n]), { ...uniforms, size }, out, Math.sqrt);
  for (let i = 0; i < size; i++) main(i);
  return out;
}
