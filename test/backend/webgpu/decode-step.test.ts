// A decode step's fused projection and column gathers (lib/ops/decode-linear.ts, decode-heads.ts, cache-write.ts's
// cacheWriteFrom): their WebGPU shaders executed on the CPU through the WGSL translator, registered as 'cpu' kernels
// (test/helpers/simulated-kernels.ts), must equal the ops' tfjs references; and the shaders keep their barriers in
// uniform control flow (Tint rejects them otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cacheRowsReference, cacheWriteFrom, type CacheWriteSource } from '../../../lib/ops/cache-write';
import { decodeHeads, decodeHeadsReference, type ColumnSegment } from '../../../lib/ops/decode-heads';
import { decodeLinear, decodeLinearReference, hasDecodeLinearKernel } from '../../../lib/ops/decode-linear';
import { ropeTables } from '../../../lib/attention/rope';
import { DECODE_LINEAR_KERNELS, decodeLinearWgsl } from '../../../lib/backend/webgpu/kernels/decode-linear';
import { DECODE_HEADS_KERNELS, cacheWriteFromWgsl } from '../../../lib/backend/webgpu/kernels/decode-heads';
import { registerSimulatedCacheWriteFrom, withSimulated } from '../../helpers/simulated-kernels';
import { barrierUniformityProblems } from '../../helpers/wgsl-uniformity';
import { useCpu } from '../../helpers/models';
import { type LinearCase, assertClose, linearInputs } from '../../helpers/decode-linear-cases';

const rand = (shape: number[], seed: number, mean = 0) => tf.randomNormal(shape, mean, 1, 'float32', seed);

// One row and several (past one 4-row block), one to three weights whose widths are not multiples of the 8-column
// block (a workgroup then spans two weights), inputs read from an offset of a wider row, every epilogue; the
// shader's layout itself (K's remainder, the unstaged path, 35M shapes) in decode-linear.test.ts.
const LINEAR_CASES: LinearCase[] = [
  { name: 'one row, one weight', rows: [1, 1], X: 40, K: 40, n: [24] },
  { name: 'Q, K, V after LayerNorm', rows: [1, 1], X: 64, K: 64, n: [64, 16, 16], norm: true },
  { name: 'MLA down-projections, odd widths', rows: [2, 1], X: 64, K: 64, n: [32, 45], norm: true },
  { name: 'latent LayerNorm from an offset', rows: [3, 2], X: 77, K: 42, n: [70], offset: 32, norm: true },
  { name: 'bias + relu (the MLP in)', rows: [5, 1], X: 64, K: 64, n: [256], norm: true, bias: true, relu: true },
  { name: 'bias + residual (the MLP out)', rows: [1, 1], X: 300, K: 300, n: [64], bias: true, residual: true },
  { name: 'residual alone, 16 rows (the most)', rows: [4, 4], X: 48, K: 48, n: [33], residual: true },
];

for (const c of LINEAR_CASES) {
  test(`decodeLinear kernel, ${c.name}: equals the tfjs reference`, async () => {
    await useCpu();
    const { x, ws, o } = linearInputs(c);
    const want = decodeLinearReference(x, ws, o);
    const got = withSimulated(DECODE_LINEAR_KERNELS, () => {
      assert.ok(hasDecodeLinearKernel(c.rows[0] * c.rows[1]));
      return decodeLinear(x, ws, o);
    });
    assertClose(got, want, c.name);
    if (c.relu) assert.ok(want.dataSync().some((v) => v === 0), 'relu clipped something');
  });
}

test('decodeLinear: more rows than the kernel takes run the reference; bad shapes are one line', async () => {
  await useCpu();
  const x = rand([17, 8], 1);
  const w = rand([8, 4], 2) as tf.Tensor2D;
  const got = withSimulated(DECODE_LINEAR_KERNELS, () => (hasDecodeLinearKernel(17) ? null : decodeLinear(x, [w])));
  assert.ok(got, '17 rows: no kernel');
  assertClose(got, tf.matMul(x, w), '17 rows');
  assert.throws(() => decodeLinear(x, [w], { offset: 1 }), /columns 1 \.\. 8 are past x's 8/);
  assert.throws(() => decodeLinear(x, [w], { residual: rand([17, 5], 3) }), /residual \(17,5\) is not \(…, 4\)/);
});

const rope16 = ropeTables(16, 32, 10000, 64);
const rope8 = ropeTables(8, 16, 10000, 64);

interface HeadsCase {
  name: string;
  x: [number, number, number];
  heads: number;
  s: ColumnSegment;
  start: number;
}

const HEADS_CASES: HeadsCase[] = [
  { name: 'MHA queries, whole head rotated', x: [1, 1, 96], heads: 2, s: { offset: 0, stride: 32, width: 16, rotary: 16 }, start: 5 },
  { name: 'MLA qRope: the tail of each 32-wide head', x: [2, 1, 128], heads: 4, s: { offset: 16, stride: 32, width: 16, rotary: 16 }, start: 9 },
  { name: 'MLA qNope, several tokens', x: [1, 3, 128], heads: 4, s: { offset: 0, stride: 32, width: 16, rotary: 0 }, start: 0 },
  { name: 'partial RoPE: [nope | rope] heads', x: [1, 2, 80], heads: 3, s: { offset: 8, stride: 24, width: 24, rotary: 8 }, start: 40 },
  { name: 'values from an offset, a long time axis', x: [2, 37, 200], heads: 4, s: { offset: 64, stride: 32, width: 32, rotary: 0 }, start: 0 },
];

for (const c of HEADS_CASES) {
  test(`decodeHeads kernel, ${c.name}: equals the tfjs reference`, async () => {
    await useCpu();
    const x = rand(c.x, 2) as tf.Tensor3D;
    const tables = c.s.rotary === 16 ? rope16 : c.s.rotary === 8 ? rope8 : undefined;
    const want = decodeHeadsReference(x, c.heads, c.s, tables, c.start);
    const got = withSimulated(DECODE_HEADS_KERNELS, () => decodeHeads(x, c.heads, c.s, tables, c.start));
    assertClose(got, want, c.name, 1e-6);
  });
}

interface WriteCase {
  name: string;
  buf: [number, number, number, number];
  parts: (Omit<CacheWriteSource, 'src'> & { src: [number, number, number] })[];
  start: number;
  norm?: boolean;
  rope?: 'r16' | 'r8';
}

const WRITE_CASES: WriteCase[] = [
  { name: 'MHA keys, rotated', buf: [1, 2, 64, 16], parts: [{ src: [1, 1, 96], offset: 32, stride: 16, width: 16, rotary: 16 }], start: 7, rope: 'r16' },
  { name: 'MHA values, batch 2', buf: [2, 2, 8, 16], parts: [{ src: [2, 1, 96], offset: 64, stride: 16, width: 16, rotary: 0 }], start: 3 },
  { name: 'MLA latent, LayerNormed', buf: [1, 1, 64, 42], parts: [{ src: [1, 1, 82], offset: 32, stride: 0, width: 42, rotary: 0 }], start: 10, norm: true },
  { name: 'MLA RoPE key, a 3-token step', buf: [1, 1, 16, 8], parts: [{ src: [1, 3, 82], offset: 74, stride: 0, width: 8, rotary: 8 }], start: 4, rope: 'r8' },
  {
    name: "MLA 'full' key: kNope from one row, the shared RoPE key from another",
    buf: [2, 4, 8, 16],
    parts: [{ src: [2, 1, 64], offset: 0, stride: 8, width: 8, rotary: 0 }, { src: [2, 1, 82], offset: 74, stride: 0, width: 8, rotary: 8 }],
    start: 6,
    rope: 'r8',
  },
];

for (const c of WRITE_CASES) {
  test(`cacheWriteFrom kernel, ${c.name}: writes the reference's rows in place and nothing else`, async () => {
    await useCpu();
    const parts = c.parts.map((p, i) => ({ ...p, src: rand(p.src, 20 + i) as tf.Tensor3D }));
    const W = c.buf[3];
    const o = { rope: c.rope === 'r16' ? rope16 : c.rope === 'r8' ? rope8 : undefined, norm: c.norm ? { gamma: rand([W], 3, 1) as tf.Tensor1D, beta: rand([W], 4) as tf.Tensor1D } : undefined };
    const before = rand(c.buf, 1);
    const rows = cacheRowsReference(before, parts, c.start, o);
    const t = rows.shape[2];
    const want = tf.concat([tf.slice(before, [0, 0, 0, 0], [-1, -1, c.start, -1]), rows, tf.slice(before, [0, 0, c.start + t, 0], [-1, -1, -1, -1])], 2);
    const buf = tf.tensor(before.dataSync(), before.shape); // storage of its own
    const unregister = registerSimulatedCacheWriteFrom();
    try {
      const out = cacheWriteFrom(buf, parts, c.start, o);
      assert.equal(out.dataId, buf.dataId, 'written in place');
      assertClose(out, want, c.name);
    } finally {
      unregister();
    }
  });
}

test('the decode step shaders keep their barriers in uniform control flow', () => {
  const linear = { rows: 3, width: 64, K: 64, n: [32, 45], offset: 0, bias: true, relu: true, residual: true, block: 3 };
  for (const norm of [false, true]) {
    for (const stage of [false, true]) assert.deepEqual(barrierUniformityProblems(decodeLinearWgsl({ ...linear, norm, stage })), [], `decode linear, norm ${norm}, staged ${stage}`);
  }
  for (const norm of [false, true]) {
    assert.deepEqual(barrierUniformityProblems(cacheWriteFromWgsl({ segments: norm ? 1 : 2, rotated: [false, !norm], norm })), [], `cache write from rows, norm ${norm}`);
  }
});
