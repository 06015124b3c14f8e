// The tiled WebGPU matmul shader, executed on the CPU: its WGSL is translated into a JavaScript generator with
// f32 arithmetic rounded as on the GPU (workgroupBarrier becomes a yield) and every workgroup's 256 threads are
// stepped in lockstep (test/helpers/wgsl-js.ts). This
// checks the shader's index arithmetic, tiling, bounds and broadcast handling here, where no GPU exists; the
// WGSL compiling and running on a real GPU is checked by `mla bench matmul-check` (lib/bench/matmul-check.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { matMulShape, matMulWgsl, planSplits, SPLIT_SUM_WGSL, TARGET_WORKGROUPS, tileDepth, type MatMulPlan, type MatMulShape, type TileShape } from '../../../lib/backend/webgpu/kernels/matmul';
import { choosePlan, policyTile } from '../../../lib/backend/webgpu/kernels/matmul-kernel';
import { pipelinedMatMulWgsl, wideLoads } from '../../../lib/backend/webgpu/kernels/matmul-pipelined';
import { runFlatWgsl, runWorkgroupShader } from '../../helpers/wgsl-js';
import { useCpu } from '../../helpers/models';

/** A plan with exactly `splits` slices of K (rounded as the library rounds them). */
function planOf(s: MatMulShape, tile: TileShape, splits: number): MatMulPlan {
  const depth = tileDepth(tile);
  const kPerSplit = Math.ceil(s.K / splits / depth) * depth;
  return { tile, splits: Math.ceil(s.K / kPerSplit), kPerSplit };
}

/**
 * Runs the translated shader over the whole dispatch, each workgroup's threads in lockstep between barriers,
 * then (split K) the partial-sum shader.
 */
function simulate(s: MatMulShape, tA: boolean, tB: boolean, A: Float32Array, B: Float32Array, plan: MatMulPlan): Float32Array {
  const { tileM, tileN } = plan.tile;
  const partial = new Float32Array(s.batch * plan.splits * s.M * s.N);
  const uniforms = { dimM: s.M, dimN: s.N, dimK: s.K, batchA: s.batchA, batchB: s.batchB, splits: plan.splits, kPerSplit: plan.kPerSplit, stages: plan.kPerSplit / tileDepth(plan.tile) };
  // The pipelined shader reads an input whose inner dim is a multiple of 4 as vec4s: bound as arrays of 4.
  const wide = plan.tile.pipelined ? wideLoads(s.M, s.N, s.K, tA, tB) : { a: false, b: false };
  const asVec4 = (x: Float32Array) => Array.from({ length: x.length / 4 }, (_, i) => Array.from(x.subarray(4 * i, 4 * i + 4)));
  const wgsl = plan.tile.pipelined ? pipelinedMatMulWgsl(tA, tB, tileM, tileN, wide, tileDepth(plan.tile)) : matMulWgsl(tA, tB, plan.tile);
  runWorkgroupShader(wgsl, {
    inputs: { A: wide.a ? asVec4(A) : A, B: wide.b ? asVec4(B) : B },
    result: partial,
    uniforms,
    dispatch: [Math.ceil(s.N / tileN), Math.ceil(s.M / tileM), s.batch * plan.splits],
    workgroupSize: [16, 16, 1],
  });
  if (plan.splits === 1) return partial;
  return runFlatWgsl(SPLIT_SUM_WGSL, { P: partial }, { splits: plan.splits, mn: s.M * s.N }, s.batch * s.M * s.N, [], { splits: 'i32', mn: 'i32' });
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
  [[2], [1], 100, 36, 72], // every inner dim a multiple of 4 (the pipelined shader's vec4 loads), ragged tiles
];

const TILES: [TileShape, number][] = [
  [{ tileM: 128, tileN: 128 }, 1],
  [{ tileM: 128, tileN: 32 }, 2],
  [{ tileM: 32, tileN: 128 }, 3],
  [{ tileM: 64, tileN: 64 }, 1],
  [{ tileM: 128, tileN: 128, vec4: true }, 1],
  [{ tileM: 64, tileN: 128, vec4: true }, 2],
  [{ tileM: 128, tileN: 128, vec4: true, pipelined: true }, 1],
  [{ tileM: 64, tileN: 128, vec4: true, pipelined: true }, 3],
  [{ tileM: 128, tileN: 64, vec4: true, pipelined: true }, 2],
  [{ tileM: 128, tileN: 128, vec4: true, pipelined: true, depth: 8 }, 2],
  [{ tileM: 128, tileN: 128, vec4: true, pipelined: true, depth: 32 }, 1],
  [{ tileM: 128, tileN: 256, vec4: true, pipelined: true, depth: 8 }, 3],
];

for (const [outerA, outerB, M, K, N] of CASES) {
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      test(`tiled matmul shader (${outerA}|${outerB}) ${M}×${K}·${K}×${N} tA=${tA} tB=${tB}, every tile shape and split, equals tf.matMul`, async () => {
        await useCpu();
        const aShape = [...outerA, tA ? K : M, tA ? M : K];
        const bShape = [...outerB, tB ? N : K, tB ? K : N];
        const s = matMulShape(aShape, bShape, tA, tB);
        assert.ok(s);
        const a = values(aShape.reduce((p, d) => p * d, 1), M * 7 + K);
        const b = values(bShape.reduce((p, d) => p * d, 1), N * 13 + K);
        const want = tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), tA, tB).dataSync();
        for (const [tile, splits] of TILES) {
          const plan = planOf(s, tile, splits);
          const got = simulate(s, tA, tB, a, b, plan);
          assert.equal(got.length, want.length);
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
          assert.ok(worst < 1e-4, `tile ${tile.tileM}×${tile.tileN}${tile.vec4 ? ' vec4' : ''}${tile.pipelined ? ' pipelined' : ''}${tile.depth ? ` depth ${tile.depth}` : ''}, ${plan.splits} splits: max |Δ| ${worst}`);
        }
      });
    }
  }
}

test('every loop holding a barrier is bounded by uniforms only (WGSL rejects the shader otherwise)', () => {
  for (const tile of TILES.map(([t]) => t)) {
    const wgsl = tile.pipelined ? pipelinedMatMulWgsl(true, false, tile.tileM, tile.tileN, { a: true, b: false }, tileDepth(tile)) : matMulWgsl(true, false, tile);
    const loops = wgsl.split('\n').filter((l) => l.trim().startsWith('for ('));
    const outer = loops[0]; // the K loop, which holds the workgroupBarrier calls
    assert.match(outer, /^\s*for \(var (\w+) = 0; \1 < uniforms\.\w+; \1 = \1 \+ 1\) \{$/);
  }
});

test('the pipelined shader refuses tiles and depths it cannot load evenly, and sizes workgroup memory by its depth', () => {
  const wide = { a: true, b: true };
  assert.throws(() => pipelinedMatMulWgsl(false, false, 128, 128, wide, 12), /stage depth 12/);
  assert.throws(() => pipelinedMatMulWgsl(false, false, 256, 128, wide), /tile side 256 \(M\)/);
  assert.throws(() => pipelinedMatMulWgsl(false, false, 128, 512, wide, 8), /tile side 512 \(N\)/);
  assert.throws(() => pipelinedMatMulWgsl(false, false, 64, 64, wide, 8), /not a whole number of loads/); // 64 × 8 over 256 threads' vec4s
  assert.throws(() => matMulWgsl(false, false, { tileM: 128, tileN: 128, vec4: true, depth: 8 }), /staged shader takes 16 only/);
  // Two buffers of depth rows of (side / 4 + 1) vec4s each side: 128 × 256 at depth 8 is 2·8·33 + 2·8·65 vec4s.
  const wgsl = pipelinedMatMulWgsl(false, false, 128, 256, wide, 8);
  assert.match(wgsl, /var<workgroup> tileA : array<vec4<f32>, 528>;/);
  assert.match(wgsl, /var<workgroup> tileB : array<vec4<f32>, 1040>;/);
  assert.equal(planSplits({ batchA: 1, batchB: 1, batch: 1, M: 512, N: 512, K: 8200 }, { tileM: 128, tileN: 128, depth: 32 }).kPerSplit % 32, 0);
});

test('planSplits: splits K only when the tiles are too few, never below 256 rows of K per slice', () => {
  const wgrad = { batchA: 1, batchB: 1, batch: 1, M: 512, N: 512, K: 8192 }; // xᵀ·dy of a 512 × 512 weight
  const p = planSplits(wgrad, { tileM: 128, tileN: 128 });
  assert.equal(p.splits, Math.ceil(TARGET_WORKGROUPS / 16)); // 16 tiles
  assert.ok(p.kPerSplit * p.splits >= wgrad.K && p.kPerSplit % 16 === 0);
  assert.equal(planSplits({ ...wgrad, K: 300 }, { tileM: 128, tileN: 128 }).splits, 1);
  assert.equal(planSplits({ ...wgrad, M: 8192, N: 2048 }, { tileM: 128, tileN: 128 }).splits, 1); // 1024 tiles already
  assert.equal(planSplits(wgrad, { tileM: 128, tileN: 128 }, false).splits, 1);
  assert.equal(planSplits({ ...wgrad, M: 8192 }, { tileM: 128, tileN: 128 }).splits, 1, '256 tiles, nearly a full wave: not split');
  assert.equal(planSplits({ ...wgrad, M: 4096 }, { tileM: 128, tileN: 128 }).splits, 3, '128 tiles: split');
});

test('matMulShape: flattens batch dims, allows one-sided broadcast, refuses what the shader cannot do', () => {
  assert.deepEqual(matMulShape([2, 3, 5, 4], [2, 3, 4, 6], false, false), { batchA: 6, batchB: 6, batch: 6, M: 5, N: 6, K: 4 });
  assert.deepEqual(matMulShape([5, 4], [7, 4, 6], false, false), { batchA: 1, batchB: 7, batch: 7, M: 5, N: 6, K: 4 });
  assert.deepEqual(matMulShape([3, 4, 5], [3, 6, 4], true, true), { batchA: 3, batchB: 3, batch: 3, M: 5, N: 6, K: 4 });
  assert.equal(matMulShape([2, 1, 5, 4], [1, 3, 4, 6], false, false), null); // broadcast on both sides
  assert.equal(matMulShape([2, 3, 5, 4], [3, 2, 4, 6], false, false), null); // same size, different dims
  assert.equal(matMulShape([5, 4], [5, 6], false, false), null); // K mismatch
  const one = { batchA: 1, batchB: 1, batch: 1, M: 1, N: 512, K: 512 };
  assert.equal(choosePlan(one, false, true), null); // decode's single row stays with tfjs
  const big = { batchA: 1, batchB: 1, batch: 1, M: 8192, N: 512, K: 2048 };
  assert.equal(choosePlan(big, false, true)?.tile.tileM, 128); // dy·Wᵀ: tiled
  assert.equal(choosePlan(big, false, true)?.tile.pipelined, true, 'the pipelined shader by default');
  assert.equal(tileDepth(choosePlan(big, false, true)!.tile), 8, 'at 8 of K a stage by default');
  assert.equal(tileDepth(policyTile('pipelined', 16)), 16, 'MLA_WEBGPU_MATMUL_DEPTH=16: the earlier default');
  const narrow = (sh: MatMulShape, tA: boolean, tB: boolean) => choosePlan(sh, tA, tB, { tileM: 128, tileN: 128, vec4: true, pipelined: true }, false);
  assert.equal(narrow(big, false, false), null); // MLA_WEBGPU_MATMUL=tiled: x·W to tfjs
  assert.equal(narrow(big, true, false), null); // and xᵀ·dy
  assert.ok(choosePlan(big, false, false), 'the default (tiled-wide): x·W tiled');
  const mlaGrad = { batchA: 1, batchB: 1, batch: 1, M: 341, N: 768, K: 8192 }; // MLA's latentᵀ·dkv
  assert.ok((choosePlan(mlaGrad, true, false)?.splits ?? 0) > 1, 'an odd width goes to the tiled shader, K split');
  assert.ok(choosePlan({ ...big, K: 341 }, false, false), 'x·W with K = 341: tiled');
  const wide = (sh: MatMulShape, tA: boolean, tB: boolean) => choosePlan(sh, tA, tB, { tileM: 128, tileN: 128, vec4: true }, true);
  assert.ok(wide(big, false, false), 'tiled-wide: x·W tiled');
  assert.ok((wide({ ...big, M: 512, N: 2048 }, true, false)?.splits ?? 0) > 1, 'tiled-wide: a large weight gradient, K split');
  assert.equal(wide({ ...big, M: 512, N: 512 }, true, false), null, 'tiled-wide: a small weight gradient stays with tfjs');
  assert.equal(choosePlan({ ...big, N: 32 }, false, true), null); // narrow: tfjs
  assert.equal(choosePlan({ ...big, M: 256 }, false, true)?.splits, 8); // 8 tiles: K split 8 ways (256 rows each)
});
