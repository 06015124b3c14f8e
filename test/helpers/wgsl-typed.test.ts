// The typed WGSL-to-JS translation (wgsl-typed.ts, run by wgsl-js.ts), flat bodies and workgroup shaders: f32
// results are rounded at every operation and integers wrap at 32 bits, so a simulated shader shows what the
// GPU computes, not what float64 would. Each case would come out otherwise in float64 (the refusals would run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMN_PARTIALS_WGSL } from '../../lib/backend/webgpu/kernels/column-sums';
import { runFlatWgsl, runWorkgroupShader } from './wgsl-js';

const body = (expr: string, pre = '') => `fn main(index : i32) { if (index < uniforms.size) { ${pre} setOutputAtIndex(index, ${expr}); } }`;

test('f32 sums round at every addition: 2^24 + 1 is lost as on the GPU', () => {
  // In float64 the loop's sum is 2^24 + 2 exactly; in f32 each +1 on 2^24 rounds back to 2^24.
  const src = body('acc', 'var acc = X[0]; for (var i = 0; i < 2; i = i + 1) { acc = acc + 1.0; }');
  assert.equal(runFlatWgsl(src, { X: [2 ** 24] }, {}, 1)[0], 2 ** 24);
});

test('an i32 index past 2^24 stays exact where f32 arithmetic would round it', () => {
  const src = body('f32(i % 3)', 'let i = uniforms.base + index;');
  const out = runFlatWgsl(src, {}, { base: 2 ** 24 + 1 }, 3, [], { base: 'i32' });
  assert.deepEqual([...out], [(2 ** 24 + 1) % 3, (2 ** 24 + 2) % 3, (2 ** 24 + 3) % 3]);
  const asFloat = body('(f32(uniforms.base) + f32(index)) % 3.0');
  const rounded = runFlatWgsl(asFloat, {}, { base: 2 ** 24 + 1 }, 3, [], { base: 'i32' });
  assert.notDeepEqual([...rounded], [...out], 'the same index in f32 loses its low bit');
});

test('i32 and u32 wrap at 32 bits; i32 division truncates', () => {
  const i32 = body('f32(x / 2)', 'let x = uniforms.big * 2;');
  assert.equal(runFlatWgsl(i32, {}, { big: 2 ** 30 + 3 }, 1, [], { big: 'i32' })[0], Math.fround(((2 ** 31 + 6) | 0) / 2 | 0));
  const u32 = body('f32(h >> 28u)', 'let h = uniforms.k * 16u;');
  assert.equal(runFlatWgsl(u32, {}, { k: 0xf0000001 }, 1, [], { k: 'u32' })[0], ((0xf0000001 * 16) >>> 0) >>> 28);
});

test('products round to f32: (1 + 2^-23)^2 is not float64 exact', () => {
  const src = body('X[0] * X[0] - 1.0');
  const x = 1 + 2 ** -23;
  const got = runFlatWgsl(src, { X: new Float32Array([x]) }, {}, 1)[0];
  assert.equal(got, Math.fround(Math.fround(x * x) - 1));
  assert.notEqual(got, x * x - 1);
});

// Workgroup shaders: the same rules in workgroup memory, locals, vec4s and the values threads exchange.

/** One workgroup of `threads` threads over `size` outputs, NaN where nothing was written. */
function runOne(wgsl: string, size: number, threads: number, inputs: Record<string, number[]>, uniforms: Record<string, number> = {}, uniformTypes: Record<string, 'i32' | 'u32' | 'f32'> = {}): number[] {
  const result = new Float32Array(size).fill(Number.NaN);
  runWorkgroupShader(wgsl, { inputs, result, uniforms, uniformTypes, dispatch: [1, 1, 1], workgroupSize: [threads, 1, 1] });
  return [...result];
}

test('workgroup memory and locals add in f32: the column-sum shader sums 2^24 and four 1s to 2^24, as the GPU does', () => {
  // Lane 0 adds rows 0 and 4 (2^24 + 1 → 2^24); the four lanes' partials then meet in workgroup memory, and each
  // + 1 on 2^24 rounds away again. Float64 arithmetic stored into f32 memory would give 2^24 + 4.
  const X = [2 ** 24, 1, 1, 1, 1, 0, 0, 0];
  const result = new Float32Array(1).fill(Number.NaN);
  runWorkgroupShader(COLUMN_PARTIALS_WGSL, {
    inputs: { X }, result, uniforms: { rows: 8, cols: 1, rowsPerChunk: 8 }, dispatch: [1, 1, 1], workgroupSize: [64, 4, 1],
  });
  assert.equal(result[0], 2 ** 24);
  // A local accumulator too: five additions, each rounded.
  const loop = 'fn main() { var acc = 0.0; for (var i = 0; i < uniforms.n; i = i + 1) { acc = acc + X[i]; } result[0] = acc; }';
  assert.deepEqual(runOne(loop, 1, 1, { X: [2 ** 24, 1, 1, 1, 1] }, { n: 5 }), [2 ** 24]);
});

test('an f32 index past 2^24 collapses neighbouring threads onto one element; an i32 index stays exact', () => {
  const wgsl = `fn main() {
    let x = i32(localId.x);
    let at = uniforms.base + f32(x); // f32: 2^24 + 1 rounds to 2^24
    result[i32(at) - uniforms.ibase] = 1.0;
    let j = uniforms.ibase + x; // i32: exact
    result[2 + j - uniforms.ibase] = 1.0;
  }`;
  const got = runOne(wgsl, 4, 2, {}, { base: 2 ** 24, ibase: 2 ** 24 }, { base: 'f32', ibase: 'i32' });
  assert.deepEqual(got, [1, Number.NaN, 1, 1], 'thread 1 wrote over thread 0 through the f32 index');
});

test('u32 and i32 wrap at 32 bits in a workgroup shader: a multiplicative hash and an i32 product', () => {
  const wgsl = `fn main() {
    let x = localId.x;
    let h = (x + uniforms.key) * 2654435761; // u32: the sum wraps from thread 16 on, the product always
    result[i32(x)] = f32(h % 1000);
    let y = i32(x) * 1000000000; // i32: wraps from thread 3 on
    result[32 + i32(x)] = f32(y % 7);
  }`;
  const key = 0xfffffff0;
  const got = runOne(wgsl, 64, 32, {}, { key }, { key: 'u32' });
  for (let x = 0; x < 32; x++) {
    assert.equal(got[x], (Math.imul((x + key) >>> 0, 2654435761) >>> 0) % 1000, `hash of thread ${x}`);
    assert.equal(got[32 + x], (Math.imul(x, 1000000000) % 7) | 0, `i32 product of thread ${x}`);
  }
});

test('vec4<f32>: fma and dot round per component, and a component store copies (a let is a value, not a view)', () => {
  const wgsl = `var<workgroup> tile : array<vec4<f32>, 2>;
fn main() {
  tile[0] = vec4<f32>(1.0, 2.0, 3.0, 4.0);
  let before = tile[0];
  tile[0][1] = 5.0;
  var c = vec4<f32>(16777216.0);
  for (var i = 0; i < 2; i = i + 1) { c = fma(vec4<f32>(1.0), vec4<f32>(1.0), c); }
  result[0] = before[1];
  result[1] = tile[0][1];
  result[2] = c[0];
  result[3] = dot(vec4<f32>(16777216.0, 1.0, 1.0, 0.0), vec4<f32>(1.0));
}`;
  // Float64 would give 2^24 + 2 for both sums, and a store into tile[0] would show through `before`.
  assert.deepEqual(runOne(wgsl, 4, 1, {}), [2, 5, 2 ** 24, 2 ** 24]);
});

test('the translator refuses what WGSL refuses: i32 with u32, an f32 index, an f32 where an i32 is declared', () => {
  const run = (body: string) => runOne(`fn main() { ${body} }`, 4, 1, {});
  assert.throws(() => run('let a = i32(localId.x) + localId.x; result[a] = 1.0;'), /'\+' of i32 and u32/);
  assert.throws(() => run('result[f32(1)] = 1.0;'), /an index of type f32/);
  assert.throws(() => run('let a : i32 = 1.5; result[a] = 1.0;'), /a float \(1\.5\) where i32 is wanted/);
});
