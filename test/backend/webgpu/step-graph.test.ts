// Step graphs' uniform layout (lib/backend/webgpu/step-graph.ts): a replay writes the bytes tfjs's makeUniforms
// would, so every offset follows WGSL's struct alignment as tfjs applies it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniformBytes } from '../../../lib/backend/webgpu/step-graph';

test('uniformBytes: scalars at 4, vec2 at 8, vec3 and wider at 16, the field after a rank-5/6 shape at 16, the whole rounded to the widest', () => {
  const b = uniformBytes([
    { type: 'float32', data: [NaN] }, // 0
    { type: 'float32', data: [Infinity] }, // 4
    { type: 'int32', data: [1, 2, 3, 4] }, // 16
    { type: 'int32', data: [5, 6, 7] }, // 32
    { type: 'int32', data: [8] }, // 44
    { type: 'int32', data: [9, 10] }, // 48
    { type: 'int32', data: [1, 2, 3, 4, 5] }, // 64 .. 84
    { type: 'int32', data: [11] }, // 96 (after a 5-vector)
  ]);
  assert.equal(b.byteLength, 112);
  const i = new Int32Array(b);
  const f = new Float32Array(b);
  assert.ok(Number.isNaN(f[0]));
  assert.equal(f[1], Infinity);
  assert.deepEqual([...i.slice(4, 8)], [1, 2, 3, 4]);
  assert.deepEqual([...i.slice(8, 11)], [5, 6, 7]);
  assert.equal(i[11], 8);
  assert.deepEqual([...i.slice(12, 14)], [9, 10]);
  assert.deepEqual([...i.slice(16, 21)], [1, 2, 3, 4, 5]);
  assert.equal(i[24], 11);
});
