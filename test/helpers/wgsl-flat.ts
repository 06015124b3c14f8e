// Runs a flat elementwise WGSL body (fn main(index : i32) { … setOutputAtIndex(index, expr); }) on the CPU by
// translating it to JavaScript, so the formulas in the shaders are tested where no GPU exists. Handles the
// subset those shaders use: let/var bindings, for loops, float arithmetic, sqrt, indexing of the named inputs.
// `integerDivisions` lists the body's i32 divisions (e.g. 'index / uniforms.mn'), which truncate in WGSL.
export function runFlatWgsl(body: string, inputs: Record<string, ArrayLike<number>>, uniforms: Record<string, number>, size: number, integerDivisions: string[] = []): Float32Array {
  let js = body
    .replace('fn main(index : i32) {', 'return function (index) {')
    .replace(/\blet (\w+) =/g, 'const $1 =')
    .replace(/\bvar (\w+) =/g, 'let $1 =')
    .replace(/setOutputAtIndex\(index, (.*)\);/, 'out[index] = $1;');
  for (const d of integerDivisions) js = js.split(d).join(`Math.trunc(${d})`);
  const names = Object.keys(inputs);
  const out = new Float32Array(size);
  // eslint-disable-next-line no-new-func
  const make = new Function(...names, 'uniforms', 'out', 'sqrt', `${js};`) as (...a: unknown[]) => (i: number) => void;
  const main = make(...names.map((n) => inputs[n]), { ...uniforms, size }, out, Math.sqrt);
  for (let i = 0; i < size; i++) main(i);
  return out;
}
