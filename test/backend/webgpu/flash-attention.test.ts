// The fused causal-attention shaders (lib/backend/webgpu/kernels/flash-attention-wgsl.ts) executed on the CPU: their
// WGSL is translated to JavaScript and each workgroup's threads run in lockstep between barriers
// (test/helpers/wgsl-js.ts), against the unfused core in values, gradients and the saved log-sum-exp; and their
// tile plan. The op and the models that use them: test/attention/flash.test.ts. The WGSL compiling and running on
// a GPU is checked by `mla bench flash` (lib/bench/kernel-checks.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { flashAttention } from '../../../lib/ops/flash-attention';
import { FLASH_KERNELS } from '../../../lib/backend/webgpu/kernels/flash-attention';
import { flashPlan, rowsPerThread, tileRows } from '../../../lib/backend/webgpu/kernels/flash-attention-wgsl';
import { simulateProgram, withSimulated } from '../../helpers/simulated-kernels';
import { maxAbsDiff, useCpu } from '../../helpers/models';
import { rand, unfused3, valueAndGrads } from '../../helpers/attention';

// [BH, T, D, Dv]: ragged blocks of 64 or 128 rows (70, 130, 300), one row, exactly one block, large head dims
// whose tiles shrink to fit workgroup memory (keys 32 per tile, queries 16; one row per thread), and D ≠ Dv.
// Two query rows per thread where D + Dv ≤ 64, one past it (rowsPerThread): the last two shapes take one row,
// ragged and in one block. (MLA_FLASH_ROWS=1, one row for narrow heads too, lost and is refused: dev/README.md.)
const SHAPES: [number, number, number, number][] = [
  [3, 70, 8, 12],
  [2, 130, 4, 4],
  [1, 1, 16, 8],
  [2, 64, 32, 32],
  [1, 300, 8, 8], // three blocks of 128 rows
  [1, 40, 64, 64],
  [2, 130, 40, 28],
];

// 35M MLA's heads (32 + 16 RoPE dims, values 32) under both tile budgets: 32-row tiles in 16 KiB, 64-row in 32 KiB.
const TILE_CASES: [number, number, number, number, string | undefined][] = [
  ...SHAPES.map(([BH, T, D, Dv]) => [BH, T, D, Dv, undefined] as [number, number, number, number, undefined]),
  [2, 150, 48, 32, '16'],
  [2, 150, 48, 32, '32'],
];

for (const [BH, T, D, Dv, tileKiB] of TILE_CASES) {
  const tiles = tileKiB ? `, MLA_WEBGPU_FLASH_TILE_KIB=${tileKiB}: ${tileRows({ D, Dv }, 0, Number(tileKiB) * 1024)}-row key tiles` : '';
  test(`fused attention shaders, ${rowsPerThread({ D, Dv })} row(s) per thread (BH ${BH}, T ${T}, D ${D}, Dv ${Dv}${tiles}): output, log-sum-exp and dQ, dK, dV equal the unfused core`, async (t) => {
    await useCpu();
    const before = process.env.MLA_WEBGPU_FLASH_TILE_KIB;
    if (tileKiB) process.env.MLA_WEBGPU_FLASH_TILE_KIB = tileKiB;
    t.after(() => {
      if (before === undefined) delete process.env.MLA_WEBGPU_FLASH_TILE_KIB;
      else process.env.MLA_WEBGPU_FLASH_TILE_KIB = before;
    });
    const scale = 1 / Math.sqrt(D);
    // Scores of a few units, so the softmax is neither flat nor one-hot.
    const q = rand([BH, T, D], 1, 1.5), k = rand([BH, T, D], 2, 1.5), v = rand([BH, T, Dv], 3);
    const want = valueAndGrads(unfused3(scale), q, k, v, 4);
    const got = withSimulated(FLASH_KERNELS, () => valueAndGrads((a, b, c) => flashAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, scale), q, k, v, 4));
    ['O', 'dQ', 'dK', 'dV'].forEach((name, i) => {
      assert.deepEqual(got[i].shape, want[i].shape, name);
      const diff = maxAbsDiff(got[i], want[i]);
      assert.ok(diff < 2e-5, `${name}: max |Δ| ${diff}`);
    });
    // The saved log-sum-exp: log Σ_{j ≤ i} exp(scale · q_i·k_j), per row.
    const forward = FLASH_KERNELS[0];
    if (tileKiB) {
      const rows = tileRows({ D, Dv }, 0, Number(tileKiB) * 1024);
      assert.match(forward.program([q, k, v], { scale }).key, new RegExp(`^mlaFlash_forward_${D}_${Dv}_${rows}_`), 'the kernel took the setting');
    }
    const packed = simulateProgram(forward.program([q, k, v], { scale }), [q.dataSync(), k.dataSync(), v.dataSync()]);
    const scores = tf.mul(tf.matMul(q, k, false, true), scale); // (BH, T, T)
    const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 at or below the diagonal
    const lse = tf.logSumExp(tf.add(scores, tf.mul(tf.sub(1, mask), -1e9)), -1); // (BH, T)
    const diff = maxAbsDiff(tf.tensor(packed.slice(BH * T * Dv)), tf.reshape(lse, [BH * T]));
    assert.ok(diff < 2e-5, `log-sum-exp: max |Δ| ${diff}`);
  });
}

test('the tile plan: rows per tile fit workgroup memory, and head dims off the vec4 grid are refused', () => {
  assert.equal(tileRows({ D: 32, Dv: 32 }), 64); // 64 rows × 64 floats × 4 bytes = 16 KB
  assert.equal(tileRows({ D: 64, Dv: 64 }), 32);
  assert.equal(tileRows({ D: 48, Dv: 32 }), 32, "35M MLA's heads in 16 KiB");
  assert.equal(tileRows({ D: 48, Dv: 32 }, 0, 32768), 64, 'and in 32 KiB (MLA_WEBGPU_FLASH_TILE_KIB=32)');
  assert.equal(tileRows({ D: 48, Dv: 32 }, 2, 32768), 64);
  assert.throws(() => flashPlan(1, 8, { D: 6, Dv: 8 }), /D = 6/);
});
