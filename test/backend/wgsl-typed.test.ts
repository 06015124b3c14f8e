// The typed WGSL-to-JS translation of flat bodies: f32 results are rounded at every operation and integers
// wrap at 32 bits, so a simulated shader shows what the GPU computes, not what float64 would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFlatWgsl } from '../helpers/wgsl-js';

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
