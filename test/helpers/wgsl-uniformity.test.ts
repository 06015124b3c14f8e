// The barrier-uniformity check (test/helpers/wgsl-uniformity.ts) on shaders that Tint rejects and accepts, and on
// the project's fused shaders (the decode attention's are checked in test/attention/decode-attention.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barrierUniformityProblems } from './wgsl-uniformity';
import { flashDkvWgsl, flashDqWgsl, flashForwardWgsl, flashPlan } from '../../lib/backend/webgpu/kernels/flash-attention-wgsl';
import { layerNormColumnSumsWgsl, layerNormDxWgsl, layerNormForwardWgsl, layerNormPlan } from '../../lib/backend/webgpu/kernels/layer-norm-wgsl';
import { sumSquaresWgsl } from '../../lib/backend/webgpu/kernels/sum-squares';

const shader = (...body: string[]) => ['var<workgroup> tile : array<f32, 64>;', 'fn main() {', ...body, '}'].join('\n');

test('flags a barrier in a loop whose bounds come from the workgroup id (the split-K pass as first written)', () => {
  const bad = shader(
    '  let sp = i32(workgroupId.x) / uniforms.rowBlocks;',
    '  let kbFirst = sp * uniforms.chunk;',
    '  let kbEnd = min(kbFirst + uniforms.chunk, uniforms.tiles);',
    '  for (var kb = kbFirst; kb < kbEnd; kb = kb + 1) {',
    '    workgroupBarrier();',
    '  }',
  );
  assert.equal(barrierUniformityProblems(bad).length, 1);
});

test('flags barriers under a per-thread condition, after a per-thread return, and after a per-thread break', () => {
  assert.equal(barrierUniformityProblems(shader('  let r = i32(localId.x);', '  if (r < 4) {', '    workgroupBarrier();', '  }')).length, 1);
  assert.equal(barrierUniformityProblems(shader('  if (i32(localId.x) > uniforms.n) { return; }', '  workgroupBarrier();')).length, 1);
  assert.equal(barrierUniformityProblems(shader('  let v = tile[3];', '  for (var i = 0; i < 8; i = i + 1) {', '    if (v > 0.0) { break; }', '    workgroupBarrier();', '  }')).length, 1);
  assert.equal(barrierUniformityProblems(shader('  var m = 0.0;', '  if (i32(localId.x) == 0) { m = 1.0; }', '  if (m > 0.5) {', '    workgroupBarrier();', '  }')).length, 1, 'a var assigned under per-thread control');
});

test('passes the uniform shapes: loops over uniforms and constants, per-thread work between barriers', () => {
  const good = shader(
    '  let r = i32(localId.x);',
    '  let first = i32(workgroupId.x) * 16;',
    '  for (var t = 0; t < uniforms.chunk; t = t + 1) {',
    '    let need = first + t < uniforms.tiles;',
    '    workgroupBarrier();',
    '    if (need && r < 16) { tile[r] = 1.0; }',
    '    workgroupBarrier();',
    '  }',
    '  if (r == 0) { result[first] = tile[0]; }',
  );
  assert.deepEqual(barrierUniformityProblems(good), []);
});

test("the project's fused training shaders keep their barriers in uniform control flow", () => {
  const flash = flashPlan(32, 256, { D: 32, Dv: 32 });
  const ln = layerNormPlan(8192, 512);
  const shaders: [string, string][] = [
    ['flash forward', flashForwardWgsl(flash)], ['flash dq', flashDqWgsl(flash)], ['flash dkv', flashDkvWgsl(flash)],
    ['layer norm forward', layerNormForwardWgsl(ln)], ['layer norm dx', layerNormDxWgsl(ln)], ['layer norm column sums', layerNormColumnSumsWgsl(ln)],
    ['sum of squares', sumSquaresWgsl(1 << 20)],
  ];
  for (const [name, wgsl] of shaders) {
    assert.match(wgsl, /workgroupBarrier/, `${name} has barriers to check`);
    assert.deepEqual(barrierUniformityProblems(wgsl), [], name);
  }
});
