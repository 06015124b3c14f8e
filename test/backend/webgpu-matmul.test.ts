// The tiled WebGPU matmul shader, executed on the CPU: its WGSL is translated line by line into a JavaScript
// generator (workgroupBarrier becomes a yield) and every workgroup's 256 threads are stepped in lockstep. This
// checks the shader's index arithmetic, tiling, bounds and broadcast handling here, where no GPU exists; the
// WGSL compiling and running on a real GPU is checked by scripts/device/matmul-check.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { matMulShape, matMulWgsl, worthTiling, type MatMulShape } from '../../lib/backend/webgpu-matmul';
import { useCpu } from '../helpers/models';

type Vec3 = { x: number; y: number; z: number };
type Thread = (localId: Vec3, globalId: Vec3, workgroupId: Vec3) => Generator<void, void, void>;

/** The shader's body as a JavaScript generator factory over the given buffers and uniforms. */
function translate(wgsl: string): (A: Float32Array, B: Float32Array, result: Float32Array, uniforms: Record<string, number>) => Thread {
  const shared: string[] = [];
  const body = wgsl
    .split('\n')
    .filter((line) => {
      const m = /^var<workgroup> (\w+) : array<f32, (\d+)>;$/.exec(line.trim());
      if (m) shared.push(`const ${m[1]} = new Float64Array(${m[2]});`);
      return !m;
    })
    .join('\n')
    .replace('fn main() {', 'return function* (localId, globalId, workgroupId) {')
    .replace(/workgroupBarrier\(\);/g, 'yield;')
    .replace(/\blet (\w+) =/g, 'const $1 =')
    .replace(/\bvar (\w+) =/g, 'let $1 =')
    .replace(/for \(let (\w+) = 0; (.+?); \1 = \1 \+ (\w+)\)/g, 'for (let $1 = 0; $2; $1 = $1 + $3)')
    .replace(/(\w+) \/ (\d+)/g, 'Math.trunc($1 / $2)'); // WGSL's i32 division truncates
  const src = `${shared.join('\n')}\n${body};`;
  const helpers = 'const i32 = (v) => v | 0; const select = (f, t, c) => (c ? t : f); const fma = (a, b, c) => a * b + c;';
  // eslint-disable-next-line no-new-func
  const make = new Function('A', 'B', 'result', 'uniforms', `${helpers}\n${src}`) as never;
  // Each call is one workgroup: its threads share the closure's tile arrays.
  return (A, B, result, uniforms) => (make as (...a: unknown[]) => Thread)(A, B, result, uniforms);
}

/** Runs the translated shader over the whole dispatch, each workgroup's threads in lockstep between barriers. */
function simulate(s: MatMulShape, tA: boolean, tB: boolean, A: Float32Array, B: Float32Array): Float32Array {
  const result = new Float32Array(s.batch * s.M * s.N);
  const uniforms = { dimM: s.M, dimN: s.N, dimK: s.K, batchA: s.batchA, batchB: s.batchB };
  const factory = translate(matMulWgsl(tA, tB));
  for (let gz = 0; gz < s.batch; gz++) {
    for (let gy = 0; gy < Math.ceil(s.M / 128); gy++) {
      for (let gx = 0; gx < Math.ceil(s.N / 128); gx++) {
        const wgFactory = factory(A, B, result, uniforms); // one workgroup: one copy of tileA/tileB
        const threads: Generator<void, void, void>[] = [];
        for (let ty = 0; ty < 16; ty++) {
          for (let tx = 0; tx < 16; tx++) {
            const wg = { x: gx, y: gy, z: gz };
            threads.push(wgFactory({ x: tx, y: ty, z: 0 }, { x: gx * 16 + tx, y: gy * 16 + ty, z: gz }, wg));
          }
        }
        let running = true;
        while (running) {
          const states = threads.map((t) => t.next().done);
          running = !states.every(Boolean);
          assert.ok(states.every((d) => d === states[0]), 'every thread reaches each barrier (uniform control flow)');
        }
      }
    }
  }
  return result;
}

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround(x / 2 ** 31 - 1);
  }
  return out;
}

const CASES: [number[], number[], number, number, number][] = [
  [[], [], 130, 17, 70], // ragged in every dim, K across two stages
  [[2], [2], 64, 16, 129],
  [[3], [1], 40, 9, 33], // b broadcast over a's batch
  [[1], [2], 33, 20, 40], // a broadcast over b's batch
  [[2, 1], [2, 1], 17, 5, 18],
];

for (const [outerA, outerB, M, K, N] of CASES) {
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      test(`tiled matmul shader (${outerA}|${outerB}) ${M}×${K}·${K}×${N} tA=${tA} tB=${tB} equals tf.matMul`, async () => {
        await useCpu();
        const aShape = [...outerA, tA ? K : M, tA ? M : K];
        const bShape = [...outerB, tB ? N : K, tB ? K : N];
        const s = matMulShape(aShape, bShape, tA, tB);
        assert.ok(s);
        const a = values(aShape.reduce((p, d) => p * d, 1), M * 7 + K);
        const b = values(bShape.reduce((p, d) => p * d, 1), N * 13 + K);
        const got = simulate(s, tA, tB, a, b);
        const want = tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), tA, tB);
        assert.equal(got.length, want.size);
        const w = want.dataSync();
        let worst = 0;
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(got[i] - w[i]));
        assert.ok(worst < 1e-4, `max |Δ| ${worst}`);
      });
    }
  }
}

test('matMulShape: flattens batch dims, allows one-sided broadcast, refuses what the shader cannot do', () => {
  assert.deepEqual(matMulShape([2, 3, 5, 4], [2, 3, 4, 6], false, false), { batchA: 6, batchB: 6, batch: 6, M: 5, N: 6, K: 4 });
  assert.deepEqual(matMulShape([5, 4], [7, 4, 6], false, false), { batchA: 1, batchB: 7, batch: 7, M: 5, N: 6, K: 4 });
  assert.deepEqual(matMulShape([3, 4, 5], [3, 6, 4], true, true), { batchA: 3, batchB: 3, batch: 3, M: 5, N: 6, K: 4 });
  assert.equal(matMulShape([2, 1, 5, 4], [1, 3, 4, 6], false, false), null); // broadcast on both sides
  assert.equal(matMulShape([2, 3, 5, 4], [3, 2, 4, 6], false, false), null); // same size, different dims
  assert.equal(matMulShape([5, 4], [5, 6], false, false), null); // K mismatch
  assert.equal(worthTiling({ batchA: 1, batchB: 1, batch: 1, M: 1, N: 512, K: 512 }), false); // decode's one row
  const big = { batchA: 1, batchB: 1, batch: 1, M: 8192, N: 512, K: 512 };
  assert.equal(worthTiling(big, false, true), true); // dy·Wᵀ: where it measured faster
  assert.equal(worthTiling(big, false, false), false); // x·W and Aᵀ·B: tfjs's measured faster
  assert.equal(worthTiling(big, true, false), false);
});
