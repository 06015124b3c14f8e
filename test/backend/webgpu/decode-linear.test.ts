// The decode linear's WebGPU shader (lib/backend/webgpu/kernels/decode-linear.ts) executed on the CPU through the
// WGSL translator, registered as a 'cpu' kernel (test/helpers/simulated-kernels.ts), against the op's tfjs reference
// (lib/ops/decode-linear.ts): the parts of its layout a wrong index would break — K's remainder after the 4-way
// unrolled main loop (K a multiple of 128, K < 32 with idle slices, K = 128·q + 3, 44, 127), blocks of 1, 3 and 4 rows and
// more rows than a block, LayerNorm on and off, an 8-column block straddling two or three weights, bias, relu and
// residual — each with the inputs staged in workgroup memory and read in the K loop (the shader for rows that do not
// fit: forced here by a device of no workgroup memory, and met by 4 rows of K > 2048); then the layout at the 35M
// model's shapes (workgroups, workgroup memory, pipeline keys) and the barriers' uniformity over the plans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { decodeLinear, decodeLinearReference, type DecodeLinearAttrs } from '../../../lib/ops/decode-linear';
import {
  DECODE_LINEAR_KERNELS, DL_COLS, DL_SLICES, DL_STAGE_FLOATS, type DecodeLinearPlan, decodeLinearKey, decodeLinearPlan, decodeLinearProgram, decodeLinearWgsl, decodeLinearWorkgroupBytes,
} from '../../../lib/backend/webgpu/kernels/decode-linear';
import type { WorkgroupKernel } from '../../../lib/backend/webgpu/program';
import { withSimulated } from '../../helpers/simulated-kernels';
import { barrierUniformityProblems } from '../../helpers/wgsl-uniformity';
import { useCpu } from '../../helpers/models';
import { type LinearCase, assertClose, linearInputs } from '../../helpers/decode-linear-cases';


/** The kernel as registered, but planned for a device of no workgroup memory: the inputs are never staged. */
const UNSTAGED: WorkgroupKernel[] = DECODE_LINEAR_KERNELS.map((k) => ({ ...k, program: (inputs, attrs) => decodeLinearProgram(inputs, attrs, 0) }));

interface Case extends LinearCase {
  /** Whether the registered kernel stages the rows (default: yes). */
  staged?: boolean;
}

const CASES: Case[] = [
  { name: 'batch 1, K = 128: one group of 4 rows a slice, no remainder', rows: [1, 1], X: 128, K: 128, n: [24], norm: true },
  { name: 'K = 300: two groups of 4, then 1 or 2 rows a slice', rows: [1, 1], X: 300, K: 300, n: [40], bias: true, residual: true },
  { name: 'K = 20 < 32: no main loop, slices past K idle', rows: [1, 1], X: 20, K: 20, n: [11], relu: true, bias: true },
  { name: 'a block of 3 rows, K = 131: one group, then 0 or 1 rows a slice', rows: [3], X: 131, K: 131, n: [17], norm: true, bias: true, relu: true },
  { name: 'a block of 4 rows, K = 255 (3 or 4 rows a slice left), three weights in one 8-column block (5 | 2 | 9)', rows: [4], X: 255, K: 255, n: [5, 2, 9], norm: true },
  { name: 'MLA down-projections at 35M widths: 341 | 16, block 42 straddles them', rows: [1, 1], X: 512, K: 512, n: [341, 16], norm: true },
  { name: '6 rows (a block of 4, then 2) from an offset of a wider row, two weights', rows: [2, 3], X: 130, K: 96, n: [19, 13], offset: 17, norm: true },
  { name: '16 rows (the most): 4 blocks, every epilogue', rows: [16], X: 64, K: 64, n: [33], bias: true, relu: true, residual: true, norm: true },
  { name: 'the MLP out at 35M widths: K = 2048, batch 1 (8 KiB staged)', rows: [1, 1], X: 2048, K: 2048, n: [24], bias: true, residual: true },
  { name: '4 rows of K = 2080 > DL_STAGE_FLOATS / 4, LayerNorm: x read in the K loop', rows: [4], X: 2080, K: 2080, n: [12], norm: true, staged: false },
  { name: '4 rows of K = 2100, residual: x read in the K loop', rows: [2, 2], X: 2100, K: 2100, n: [9], residual: true, staged: false },
];

for (const c of CASES) {
  test(`decodeLinear shader, ${c.name}: equals the tfjs reference, rows staged and unstaged`, async () => {
    await useCpu();
    const M = c.rows.reduce((a, b) => a * b, 1);
    const { x, ws, o } = linearInputs(c);
    const want = decodeLinearReference(x, ws, o);
    // The plan the registered kernel makes on this (unbounded) device.
    const attrs: DecodeLinearAttrs = { offset: c.offset ?? 0, weights: ws.length, norm: c.norm ? 1 : 0, eps: 1e-5, bias: c.bias ? 1 : 0, relu: c.relu ? 1 : 0, residual: c.residual ? 1 : 0 };
    const plan = decodeLinearPlan([x, ...ws], attrs);
    assert.equal(plan.stage, c.staged ?? true, 'staged');
    assert.equal(plan.block, Math.min(4, M));
    for (const [kernels, how] of [[DECODE_LINEAR_KERNELS, 'as planned'], [UNSTAGED, 'unstaged']] as const) {
      const got = withSimulated(kernels, () => decodeLinear(x, ws, o));
      assertClose(got, want, `${c.name} (${how})`);
    }
    if (c.relu) assert.ok((o.residual ? tf.sub(want, o.residual) : want).dataSync().some((v) => v === 0), 'relu clipped something');
  });
}

test('decodeLinear shader: the 35M model\'s calls at batch 1 and 4 rows — 8 columns × 32 slices a workgroup, ⌈N/8⌉ workgroups, the rows staged within 37 KiB', () => {
  const info = (shape: number[]) => ({ shape, dtype: 'float32', dataId: {} }) as unknown as tf.TensorInfo;
  const attrs = (weights: number, norm: boolean): Record<string, number> => ({ offset: 0, weights, norm: norm ? 1 : 0, eps: 1e-5, bias: 0, relu: 0, residual: 0 });
  // [what, K, widths, LayerNorm, workgroups, bytes at batch 1, bytes at 4 rows]
  const calls: [string, number, number[], boolean, number, number, number][] = [
    ['MHA Q | K | V', 512, [512, 512, 512], true, 192, 2048 + 1056 + 8, 8192 + 4224 + 32],
    ['W_o', 512, [512], false, 64, 2048 + 1056, 8192 + 4224],
    ['MLA down-projections', 512, [341, 16], true, 45, 2048 + 1056 + 8, 8192 + 4224 + 32],
    ['MLP in', 512, [2048], true, 256, 2048 + 1056 + 8, 8192 + 4224 + 32],
    ['MLP out', 2048, [512], false, 64, 8192 + 1056, 32768 + 4224],
  ];
  for (const [what, K, n, norm, groups, bytes1, bytes4] of calls) {
    const N = n.reduce((a, b) => a + b, 0);
    for (const [M, bytes] of [[1, bytes1], [4, bytes4]]) {
      const inputs = [info([M, K]), ...n.map((w) => info([K, w])), ...(norm ? [info([K]), info([K])] : [])];
      const p = decodeLinearProgram(inputs, attrs(n.length, norm), 49152);
      const plan = decodeLinearPlan(inputs, attrs(n.length, norm) as unknown as DecodeLinearAttrs, 49152);
      assert.deepEqual(p.dispatch, [groups, 1, 1], `${what}: workgroups`);
      assert.equal(groups, Math.ceil(N / DL_COLS));
      assert.deepEqual(p.workgroupSize, [DL_COLS * DL_SLICES, 1, 1]);
      assert.ok(plan.stage, `${what}, ${M} rows: staged`);
      assert.equal(decodeLinearWorkgroupBytes(plan), bytes, `${what}, ${M} rows: workgroup memory`);
      assert.match(p.key, new RegExp(`_K${K}_`), 'the key names K');
      // A device with 32 KiB of workgroup memory stages the MLP out's 4 rows no longer (32 KiB + the partial sums).
      const small = decodeLinearPlan(inputs, attrs(n.length, norm) as unknown as DecodeLinearAttrs, 32768);
      assert.equal(small.stage, !(what === 'MLP out' && M === 4), `${what}, ${M} rows: staged within 32 KiB`);
    }
  }
  assert.equal(DL_STAGE_FLOATS * 4, 32768);
});

test('decodeLinear shader: the pipeline key changes with everything the WGSL is built from', () => {
  const base: DecodeLinearPlan = { rows: 3, width: 64, K: 64, n: [32, 45], offset: 0, norm: true, bias: true, relu: false, residual: false, block: 3, stage: true };
  const variants: Partial<DecodeLinearPlan>[] = [{}, { K: 65 }, { n: [32, 46] }, { n: [77] }, { norm: false }, { bias: false }, { relu: true }, { residual: true }, { block: 2 }, { stage: false }];
  const plans = variants.map((v) => ({ ...base, ...v }));
  const byKey = new Map<string, string>();
  for (const p of plans) {
    const key = decodeLinearKey(p);
    const wgsl = decodeLinearWgsl(p);
    if (byKey.has(key)) assert.equal(byKey.get(key), wgsl, `key ${key} names two shaders`);
    byKey.set(key, wgsl);
  }
  assert.equal(byKey.size, plans.length, 'a key for each shader');
  // The uniforms (rows, width, offset, eps) are not in the key: the same shader serves every value.
  assert.equal(decodeLinearWgsl({ ...base, rows: 4, width: 99, offset: 7 }), decodeLinearWgsl(base));
  assert.equal(decodeLinearKey({ ...base, rows: 4, width: 99, offset: 7 }), decodeLinearKey(base));
});

test('decodeLinear shader: barriers in uniform control flow for every block, weight count, LayerNorm and staging', () => {
  for (const block of [1, 2, 3, 4]) {
    for (const n of [[24], [32, 45], [5, 2, 9]]) {
      for (const norm of [false, true]) {
        for (const stage of [false, true]) {
          const p: DecodeLinearPlan = { rows: block + 1, width: 300, K: 300, n, offset: 0, norm, bias: true, relu: true, residual: true, block, stage };
          assert.deepEqual(barrierUniformityProblems(decodeLinearWgsl(p)), [], JSON.stringify({ block, n, norm, stage }));
        }
      }
    }
  }
});
