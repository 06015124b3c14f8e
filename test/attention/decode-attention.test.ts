// The fused decode attention (lib/ops/decode-attention.ts): its WGSL shader (lib/backend/webgpu/kernels/
// decode-attention-wgsl.ts) translated to JavaScript and run thread by thread between barriers (test/helpers/
// wgsl-js.ts) against the op's tfjs reference on random inputs; the reference against the attention core it
// replaces; and whole models decoding through the shader (registered on 'cpu', test/helpers/simulated-kernels.ts)
// in every cache mode against their full forward. That the WGSL compiles and runs on a GPU is checked by
// `mla bench decode-check` (lib/bench/decode-check.ts) and `mla bench coverage` there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cachedAttention, unfusedCausalAttention } from '../../lib/attention/core';
import {
  DECODE_ATTENTION_MAX_WIDTH, type DecodeTerm, decodeAttention, decodeAttentionKernelName, decodeAttentionReference,
  decodeAttentionUnsupported, hasDecodeAttentionKernel,
} from '../../lib/ops/decode-attention';
import { DECODE_ATTENTION_KERNELS, decodeAttentionKernels } from '../../lib/backend/webgpu/kernels/decode-attention';
import { AUTO_PIPED_MIN_KEYS, decodeKey, decodePlan, decodeSplits, decodeTiles, rowsPerBlock } from '../../lib/backend/webgpu/kernels/decode-attention-wgsl';
import { tiledWorkgroupBytes } from '../../lib/backend/webgpu/kernels/decode-attention-tiled-wgsl';
import { kernelStages } from '../../lib/backend/webgpu/program';
import { registerCpuOpKernels } from '../../lib/backend';
import { cacheModesFor, type CacheMode } from '../../lib/costs/cache-modes';
import { registerSimulated, withSimulated } from '../helpers/simulated-kernels';
import { barrierUniformityProblems } from '../helpers/wgsl-uniformity';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';
import type { DecodeAttentionShape } from '../../lib/bench/decode-check';

const rand = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed) as tf.Tensor as tf.Tensor4D;

/** Keys or values (B, X, S, d) whose rows from `written` on are `fill` (a preallocated buffer's unwritten rows). */
function cached(shape: number[], written: number, seed: number, fill: number): tf.Tensor4D {
  const [B, X, S, d] = shape;
  const values = tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync().slice();
  for (let b = 0; b < B * X; b++) for (let j = written; j < S; j++) values.fill(fill, (b * S + j) * d, (b * S + j + 1) * d);
  return tf.tensor4d(values, [B, X, S, d]);
}

/** A case: the bench's shape record (lib/bench/decode-check.ts), at sizes the translator runs in seconds. */
type Case = DecodeAttentionShape;

// Ragged tiles (S not a multiple of the 64 keys per tile), B > 1, one cached token, a buffer with spare rows, a
// prefill at position 0 and one mid-cache, grouped heads, shared and per-head keys mixed, widths that are no
// multiple of 4 or 64, and more rows than one workgroup takes (20 rows, 16 per block).
const CASES: Case[] = [
  { what: 'absorbed MLA, one step, ragged tile', B: 2, H: 4, G: 1, Tq: 1, qStart: 69, S: 70, terms: [[42, false], [8, false]], dv: 42, vPerHead: false, vIsK0: true },
  { what: 'absorbed MLA, prefill into a buffer with spare rows', B: 2, H: 4, G: 1, Tq: 5, qStart: 0, S: 64, terms: [[42, false], [8, false]], dv: 42, vPerHead: false, vIsK0: true },
  { what: 'absorbed MLA without RoPE, three tiles, 35M widths', B: 1, H: 3, G: 1, Tq: 1, qStart: 140, S: 150, terms: [[341, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'MHA full cache, T = 1', B: 2, H: 3, G: 1, Tq: 1, qStart: 0, S: 1, terms: [[16, true]], dv: 16, vPerHead: true },
  { what: 'MHA full cache, four tiles (the running max moves between tiles)', B: 2, H: 2, G: 1, Tq: 1, qStart: 230, S: 256, terms: [[16, true]], dv: 16, vPerHead: true },
  { what: 'latent mode: per-head keys, a shared RoPE key, per-head values', B: 2, H: 2, G: 1, Tq: 2, qStart: 65, S: 67, terms: [[8, true], [4, false]], dv: 12, vPerHead: true },
  { what: 'GQA: two query heads per KV head, three new tokens mid-cache', B: 1, H: 2, G: 2, Tq: 3, qStart: 4, S: 70, terms: [[8, true]], dv: 8, vPerHead: true },
  { what: 'MQA: one shared key and value, 20 rows (two blocks)', B: 1, H: 1, G: 5, Tq: 4, qStart: 60, S: 64, terms: [[20, false]], dv: 130, vPerHead: false },
  // Split-K (a split pass and its combine): 18 tiles in 2 splits; 35 tiles of a 36-tile cache in 4 splits of 9, the
  // last ragged; a prefill of 3 rows a head in 3 splits of 8 tiles.
  { what: 'MHA, a long cache split in two', B: 1, H: 2, G: 1, Tq: 1, qStart: 1100, S: 1101, terms: [[16, true]], dv: 16, vPerHead: true },
  { what: 'absorbed MLA split in four, the last split ragged', B: 1, H: 4, G: 1, Tq: 1, qStart: 2200, S: 2304, terms: [[42, false], [8, false]], dv: 42, vPerHead: false, vIsK0: true },
  { what: 'latent mode, three new tokens split in three', B: 1, H: 2, G: 1, Tq: 3, qStart: 1500, S: 1600, terms: [[8, true], [4, false]], dv: 12, vPerHead: true },
];

function inputs(c: Case, fill: number) {
  const written = c.qStart + c.Tq;
  const M = c.G * c.Tq;
  const terms: DecodeTerm[] = c.terms.map(([d, perHead], i) => ({
    q: rand([c.B, c.H, M, d], 10 + i, 1.5),
    k: cached([c.B, perHead ? c.H : 1, c.S, d], written, 20 + i, fill),
  }));
  const v = c.vIsK0 ? terms[0].k : cached([c.B, c.vPerHead ? c.H : 1, c.S, c.dv], written, 30, fill);
  return { terms, v, opts: { qStart: c.qStart, scale: 0.4, groups: c.G } };
}

for (const [unroll, shader] of [[2, 'rows'], [4, 'rows'], [8, 'rows'], [2, 'piped'], [8, 'piped'], [8, 'piped4']] as const) {
  test(`MLA_WEBGPU_DECODE_UNROLL=${unroll}: the unrolled ${shader} shader equals the op's reference on every case (tails of keys and dims included)`, async () => {
    await useCpu();
    const kernels = decodeAttentionKernels(undefined, unroll, shader);
    for (const c of CASES) {
      const ref = inputs(c, 0);
      const want = decodeAttentionReference(ref.terms, ref.v, ref.opts);
      const nan = inputs(c, Number.NaN);
      const got = withSimulated(kernels, () => decodeAttention(nan.terms, nan.v, nan.opts));
      const diff = maxAbsDiff(got, want);
      assert.ok(diff < 2e-5, `${c.what}: max |shader − reference| = ${diff}`);
      tf.dispose([got, want]);
    }
    // Its own pipelines: the plan's key names the unroll.
    const plan = decodePlan([[1, 16, 1, 32]], [[1, 16, 640, 32]], [1, 16, 640, 32], unroll, shader);
    assert.match(decodeKey(plan), new RegExp(`^${{ rows: 'mlaDecodeAttn', piped: 'mlaDecodePiped', piped4: 'mlaDecodePiped4' }[shader]}_.*_u${unroll}$`));
  });
}
assert.throws(() => decodePlan([[1, 16, 1, 32]], [[1, 16, 640, 32]], [1, 16, 640, 32], 3), /unroll 3 is not one of 1, 2, 4, 8/);


// Absorbed MLA at the 35M widths (written for the latent shader, now in dev/): all 16 heads of two batch rows with
// RoPE; 20 rows (5 heads × 4 new tokens); a split cache with the RoPE term, the last split ragged; rows under 8 wide.
const ABSORBED_CASES: Case[] = [
  { what: '35M absorbed widths, 16 heads, B 2', B: 2, H: 16, G: 1, Tq: 1, qStart: 150, S: 160, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: '20 rows in two blocks, a prefill mid-cache', B: 1, H: 5, G: 1, Tq: 4, qStart: 90, S: 100, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'a split cache, the last split ragged', B: 1, H: 16, G: 1, Tq: 1, qStart: 1100, S: 1104, terms: [[341, false], [16, false]], dv: 341, vPerHead: false, vIsK0: true },
  { what: 'narrow rows', B: 2, H: 3, G: 1, Tq: 2, qStart: 30, S: 40, terms: [[6, false], [2, false]], dv: 6, vPerHead: false, vIsK0: true },
];

// Each case through every shader: the row-block one, the tiled one forced even where its 16 rows are few, the
// key-parallel one forced where its sums fit (else the row-block one runs).
for (const c of [...CASES, ...ABSORBED_CASES]) for (const shader of ['rows', 'tiled', 'piped', 'piped4', 'keys'] as const) {
  test(`decode-attention ${shader} shader = the op's reference: ${c.what} (B ${c.B}, H ${c.H}, rows ${c.G * c.Tq}, S ${c.S}, widths ${c.terms.map((t) => t[0]).join('+')}/${c.dv})`, async () => {
    await useCpu();
    const ref = inputs(c, 0); // the reference reads every row, so unwritten rows are zeros there
    const want = decodeAttentionReference(ref.terms, ref.v, ref.opts);
    // The shader must never read a row after a query's position: there they are NaN, which would spread.
    const nan = inputs(c, Number.NaN);
    const kernels = decodeAttentionKernels(undefined, 1, shader);
    const { terms, v, opts } = nan;
    const fold = (q: tf.Tensor4D) => (c.vIsK0 ? tf.reshape(q, [c.B, 1, c.H * c.G * c.Tq, q.shape[3]]) : q); // as the op passes them
    const ins = terms.flatMap((t) => [fold(t.q), t.k]).concat([v]);
    const keys = kernelStages(kernels[c.terms.length - 1], ins, { scale: opts.scale, qStart: c.qStart, queries: c.Tq }).map((st) => st.key);
    const fits = shader !== 'keys' || Math.min(c.G * c.Tq * (c.vIsK0 ? c.H : 1), 2) * c.dv <= 64;
    assert.ok(keys[0].startsWith({ rows: 'mlaDecodeAttn', tiled: 'mlaDecodeTiled', piped: 'mlaDecodePiped', piped4: 'mlaDecodePiped4', keys: fits ? 'mlaDecodeKeys' : 'mlaDecodeAttn' }[shader]), `${shader}: ${keys[0]}`);
    const got = withSimulated(kernels, () => {
      assert.ok(hasDecodeAttentionKernel(nan.terms, nan.v), 'the kernel takes this call');
      return decodeAttention(nan.terms, nan.v, nan.opts);
    });
    assert.deepEqual(got.shape, want.shape);
    const diff = maxAbsDiff(got, want);
    // fp32 sums in another order than the reference's: 2e-5, or 5e-5 where a score sums over more than 256 dims.
    const tol = c.terms.reduce((w, t) => w + t[0], 0) > 256 ? 5e-5 : 2e-5;
    assert.ok(diff < tol, `max |shader − reference| = ${diff}`);
  });
}


test('the kernel runs one shader where the keys are few, the split pass and its combine where they are many', async () => {
  await useCpu();
  // Built with 8 tiles a split at least (the default until 2026-12-04; now 1, where every cache of 2+ tiles splits).
  const eight = decodeAttentionKernels(8, 1);
  const kernel = (terms: number) => eight[terms - 1];
  const keysOf = (c: Case) => {
    const { terms, v, opts } = inputs(c, 0);
    const ins = terms.flatMap((t) => [t.q, t.k]).concat([v]);
    const attrs = { scale: opts.scale, qStart: c.qStart, queries: c.Tq };
    return kernelStages(kernel(c.terms.length), ins, attrs).map((s) => s.key);
  };
  assert.equal(keysOf(CASES[4]).length, 1, '4 tiles: one pass');
  const split = keysOf(CASES[9]);
  assert.equal(split.length, 2);
  assert.match(split[0], /_split$/);
  assert.match(split[1], /^mlaDecodeCombine_42$/);
});

test('MLA_WEBGPU_DECODE_SPLIT_TILES: at one tile a split, short caches split too (4 tiles in 4, 2 in 2, one stays one pass) and still equal the reference', async () => {
  await useCpu();
  const absorbed = decodePlan([[1, 1, 16, 341], [1, 1, 16, 16]], [[1, 1, 640, 341], [1, 1, 640, 16]], [1, 1, 640, 341]);
  assert.equal(decodeSplits(absorbed, decodeTiles(640, 511, 1), 8), 1, 'eight tiles a split at least: 8 tiles are one split');
  assert.equal(decodeSplits(absorbed, decodeTiles(640, 511, 1)), 8, 'the default, one tile a split: 8 splits');
  assert.equal(decodeSplits(absorbed, decodeTiles(640, 511, 1), 2), 4);
  const kernels = decodeAttentionKernels(1, 1);
  for (const c of [CASES[4], CASES[1], CASES[5]]) {
    const { terms, v, opts } = inputs(c, 0);
    const ins = terms.flatMap((t) => [t.q, t.k]).concat([v]);
    const keys = kernelStages(kernels[c.terms.length - 1], ins, { scale: opts.scale, qStart: c.qStart, queries: c.Tq }).map((st) => st.key);
    const tiles = decodeTiles(c.S, c.qStart, c.Tq);
    assert.equal(keys.length, tiles > 1 ? 2 : 1, `${c.what}: ${tiles} tiles`);
    const want = decodeAttentionReference(terms, v, opts);
    const nan = inputs(c, Number.NaN); // rows past the last position are NaN: a split must not read them either
    const got = withSimulated(kernels, () => decodeAttention(nan.terms, nan.v, nan.opts));
    const diff = maxAbsDiff(got, want);
    assert.ok(diff < 2e-5, `${c.what}: max |shader − reference| = ${diff}`);
  }
});

test("the op's reference is the attention core's math: equal to unfusedCausalAttention on every case", async () => {
  await useCpu();
  for (const c of CASES) {
    const { terms, v, opts } = inputs(c, 0);
    const diff = maxAbsDiff(decodeAttentionReference(terms, v, opts), unfusedCausalAttention(terms, v, opts));
    assert.ok(diff < 1e-5, `${c.what}: max |Δ| ${diff}`);
  }
});

test('cachedAttention takes the decode kernel where it is registered, the core elsewhere; dims past the limits keep the reference', async () => {
  await useCpu();
  const { terms, v, opts } = inputs(CASES[0], 0);
  const calls = async (f: () => tf.Tensor) => (await tf.profile(f)).kernels.filter((k) => k.name.startsWith('MlaDecodeAttention')).map((k) => k.name);
  assert.deepEqual(await calls(() => cachedAttention(terms, v, opts)), [], 'no kernel on plain cpu');
  const unregister = registerSimulated(DECODE_ATTENTION_KERNELS);
  try {
    assert.deepEqual(await calls(() => cachedAttention(terms, v, opts)), [decodeAttentionKernelName(2)]);
    const one = inputs(CASES[3], 0);
    assert.deepEqual(await calls(() => cachedAttention(one.terms, one.v, one.opts)), [decodeAttentionKernelName(1)]);
    const wide = { q: rand([1, 1, 1, DECODE_ATTENTION_MAX_WIDTH + 4], 1), k: rand([1, 1, 3, DECODE_ATTENTION_MAX_WIDTH + 4], 2) };
    const wv = rand([1, 1, 3, 4], 3);
    assert.ok(!hasDecodeAttentionKernel([wide], wv));
    assert.deepEqual(await calls(() => decodeAttention([wide], wv, { qStart: 2, scale: 1 })), [], 'too wide: the reference runs');
  } finally {
    unregister();
  }
});

test('decode attention refuses bad input in one line naming the thing and the fix', async () => {
  await useCpu();
  const { terms, v } = inputs(CASES[0], 0); // S = 70
  assert.throws(() => decodeAttention(terms, v, { qStart: 70, scale: 1 }), /positions 70 \.\. 70 need 71 cached keys, the cache holds 70; write the new tokens into the cache before attending/);
  assert.throws(() => decodeAttention(terms, v, { qStart: -1, scale: 1 }), /position -1 must be an integer ≥ 0/);
  assert.throws(() => decodeAttention(terms, v, { qStart: 0, scale: 1, groups: 3 }), /1 rows per head are not 3 groups/);
  const shortK = rand([2, 1, 69, 42], 5);
  assert.throws(() => decodeAttention([{ q: terms[0].q, k: shortK }], v, { qStart: 0, scale: 1 }), /term 0 has 69 cached keys and the values 70/);
  assert.throws(() => decodeAttention([{ q: terms[0].q, k: rand([2, 3, 70, 42], 6) }], v, { qStart: 0, scale: 1 }), /keys are \(B, Hq or 1, S, d\)/);
});

test('the shader plan: rows per workgroup within registers and workgroup memory, tiles only up to the last query', () => {
  assert.equal(rowsPerBlock(16, 357, 341), 8); // 35M absorbed decode: 16 heads' rows, 8 per workgroup (8·6 sums a thread)
  assert.equal(rowsPerBlock(1, 32, 32), 1); // 35M full/kv decode: one row per head
  assert.equal(rowsPerBlock(1024, 32, 32), 16);
  assert.equal(rowsPerBlock(3, 2000, 2000), 1); // wide rows: one per workgroup
  assert.equal(decodeTiles(128, 64, 1), 2); // 65 keys → 2 tiles of 64
  assert.equal(decodeTiles(128, 0, 5), 1); // a prefill of 5 into a 128-row buffer reads one tile
  const absorbedShapes = [[[1, 1, 16, 341], [1, 1, 16, 16]], [[1, 1, 512, 341], [1, 1, 512, 16]], [1, 1, 512, 341]] as const;
  const plan = (choice: 'auto' | 'rows' | 'tiled' | 'piped' | 'piped4', storage?: number) => decodePlan(absorbedShapes[0].map((x) => [...x]), absorbedShapes[1].map((x) => [...x]), [...absorbedShapes[2]], 1, choice, storage);
  const p = plan('rows');
  assert.deepEqual([p.rowsPerBlock, p.shader, p.terms.map((t) => t.perHead), p.valuesPerHead], [8, 'rows', [false, false], false]);
  // The tiled shader (opt-in): all 16 rows in one block where the device has the workgroup memory (48 KiB on the
  // H100/H200), the row shader on a device with WebGPU's default 16 KiB; auto keeps the row shader for these heads.
  assert.equal(tiledWorkgroupBytes([341, 16]), 16 * 92 * 16 + 64 * 5 * 16 + 64 * 4 * 16 + (16 * 64 + 2 * 128 + 3 * 16) * 4);
  // Piped: each term padded on its own (341 → 352, 16 → 16: the same 368 here) and the key chunk twice.
  assert.equal(tiledWorkgroupBytes([341, 16], true), 16 * 92 * 16 + 2 * 64 * 5 * 16 + 64 * 4 * 16 + (16 * 64 + 2 * 128 + 3 * 16) * 4);
  assert.equal(tiledWorkgroupBytes([42, 8], true) - tiledWorkgroupBytes([42, 8]), 16 * (48 + 16 - 64) * 4 + 64 * 5 * 16, '42 + 8: 48 + 16 padded apart, 64 together');
  assert.ok(tiledWorkgroupBytes([341, 16], true) <= 49152, 'fits the H100/H200 48 KiB');
  assert.deepEqual([plan('piped', 49152).shader, plan('piped', 16384).shader], ['piped', 'rows']);
  // piped4: piped's plus a second half of the scores (16 × 64 floats): 47,296 bytes, within the 48 KiB.
  assert.equal(tiledWorkgroupBytes([341, 16], true, true), tiledWorkgroupBytes([341, 16], true) + 16 * 64 * 4);
  assert.equal(tiledWorkgroupBytes([341, 16], true, true), 47296);
  assert.deepEqual([plan('piped4', 49152).shader, plan('piped4', 16384).shader], ['piped4', 'rows']);
  assert.match(decodeKey(plan('piped4', 49152)), /^mlaDecodePiped4_341s_16s_341s_16$/);
  assert.match(decodeKey(plan('piped')), /^mlaDecodePiped_341s_16s_341s_16$/);
  const piped8 = decodePlan(absorbedShapes[0].map((x) => [...x]), absorbedShapes[1].map((x) => [...x]), [...absorbedShapes[2]], 8, 'piped', 49152);
  assert.match(decodeKey(piped8), /^mlaDecodePiped_341s_16s_341s_16_u8$/, 'piped takes the unroll for its value loop');
  assert.deepEqual([plan('tiled', 49152).shader, plan('tiled', 49152).rowsPerBlock], ['tiled', 16]);
  assert.deepEqual([plan('tiled', 16384).shader, plan('tiled', 16384).rowsPerBlock], ['rows', 8]);
  assert.deepEqual([plan('auto', 49152).shader, plan('auto', 49152).rowsPerBlock], ['rows', 8]);
  // auto: the pipelined shader from AUTO_PIPED_MIN_KEYS cache rows over the batch (16 × 8192 = 131,072), where the
  // device has its workgroup memory; below it, or with fewer than 16 rows a head, the row shader.
  const absorbedAt = (B: number, keys: number, storage = 49152, rows = 16) =>
    decodePlan([[B, 1, rows, 341], [B, 1, rows, 16]], [[B, 1, keys, 341], [B, 1, keys, 16]], [B, 1, keys, 341], 1, 'auto', storage).shader;
  assert.equal(AUTO_PIPED_MIN_KEYS, 131072);
  assert.deepEqual([absorbedAt(16, 8192), absorbedAt(16, 32832), absorbedAt(64, 4096), absorbedAt(2, 65536)], ['piped', 'piped', 'piped', 'piped']);
  assert.deepEqual([absorbedAt(16, 8128), absorbedAt(64, 1024), absorbedAt(1, 32832)], ['rows', 'rows', 'rows']);
  assert.equal(absorbedAt(16, 32832, 16384), 'rows', 'WebGPU default 16 KiB of workgroup memory: no room for it');
  assert.equal(absorbedAt(16, 32832, 49152, 8), 'rows', '8 rows a head (MQA-like folds): not measured, the row shader');
  assert.match(decodeKey(plan('tiled')), /^mlaDecodeTiled_341s_16s_341s_16$/);
  // One row a head (MHA, MLA's full and latent modes): the key-parallel shader; MQA's 8 heads folded: the row shader.
  assert.equal(decodePlan([[1, 16, 1, 32]], [[1, 16, 64, 32]], [1, 16, 64, 32]).shader, 'keys');
  assert.equal(decodePlan([[1, 16, 2, 32]], [[1, 16, 64, 32]], [1, 16, 64, 32]).shader, 'keys', 'two rows of 32 columns: 64 sums');
  assert.equal(decodePlan([[1, 16, 1, 80]], [[1, 16, 64, 80]], [1, 16, 64, 80]).shader, 'rows', '80 value columns: too many sums');
  assert.equal(decodePlan([[1, 1, 8, 32]], [[1, 1, 64, 32]], [1, 1, 64, 32]).shader, 'rows');
  assert.equal(decodeAttentionUnsupported({ width: 357, valueDim: 341, rows: 16 }), null);
  // Split-K: absorbed 35M at batch 1 (2 row blocks) in a 32,832-row cache: by default (one tile a split at least) 512
  // splits at 32k (1,024 workgroups, the target) and 8 at 512; with 8 tiles a split at least, 64 and none. At batch 64
  // the 128 row blocks leave room for 8 either way; MHA at batch 1 (16 heads) 64.
  const absorbed = (B: number, choice: 'rows' | 'tiled' = 'rows') => decodePlan([[B, 1, 16, 341], [B, 1, 16, 16]], [[B, 1, 32832, 341], [B, 1, 32832, 16]], [B, 1, 32832, 341], 1, choice);
  // Tiled, one row block: the same 512 splits at batch 1, 16 at batch 64 (64 workgroups before splitting).
  assert.equal(decodeSplits(absorbed(1, 'tiled'), decodeTiles(32832, 32767, 1)), 512);
  assert.equal(decodeSplits(absorbed(64, 'tiled'), decodeTiles(32832, 4095, 1)), 16);
  assert.equal(decodeSplits(absorbed(1), decodeTiles(32832, 32767, 1)), 512);
  assert.equal(decodeSplits(absorbed(1), decodeTiles(32832, 511, 1)), 8);
  assert.equal(decodeSplits(absorbed(1), decodeTiles(32832, 32767, 1), 8), 64);
  assert.equal(decodeSplits(absorbed(1), decodeTiles(32832, 511, 1), 8), 1);
  assert.equal(decodeSplits(absorbed(64), decodeTiles(32832, 4095, 1)), 8);
  assert.equal(decodeSplits(absorbed(64), decodeTiles(32832, 4095, 1), 8), 8);
  const mha = decodePlan([[1, 16, 1, 32]], [[1, 16, 32832, 32]], [1, 16, 32832, 32]);
  assert.equal(decodeSplits(mha, decodeTiles(32832, 32767, 1)), 64);
  assert.match(decodeAttentionUnsupported({ width: 4000, valueDim: 341, rows: 16 }) ?? '', /width 4000/);
});

// Whole models through the shader: prefill and single tokens, caches written in place (the cpu kernel), every cache mode.
const PRESETS = ['tiny-mla-rope', 'tiny-mla-norope', 'tiny-mha-rope', 'tiny-gqa-rope', 'tiny-mqa-rope', 'tiny-mha-decoupled-rope'];
const PROMPT = 5;
const STEPS = 6;

for (const preset of PRESETS) {
  test(`${preset}: decoding through the decode-attention shader equals the full forward in every cache mode, one kernel per layer and step`, async () => {
    await useCpu();
    registerCpuOpKernels();
    const model = sharpModel(preset);
    const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
    const unregister = registerSimulated(DECODE_ATTENTION_KERNELS);
    try {
      for (const mode of cacheModesFor(model.config) as CacheMode[]) {
        let state = model.startDecode(2, mode);
        const pre = model.decode(tf.tensor2d(ids.map((r) => r.slice(0, PROMPT)), undefined, 'int32'), state);
        state = pre.state;
        const pieces = [pre.logits];
        let attentions = 0;
        for (let t = PROMPT; t < PROMPT + STEPS; t++) {
          const x = tf.tensor2d(ids.map((r) => [r[t]]), undefined, 'int32');
          const prof = await tf.profile(() => {
            const s = model.decode(x, state);
            state = s.state;
            pieces.push(s.logits);
            return s.logits;
          });
          attentions += prof.kernels.filter((k) => k.name.startsWith('MlaDecodeAttention')).length;
        }
        assert.equal(attentions, STEPS * model.config.nLayers, `${mode}: one fused attention per layer and step`);
        const cachedLogits = tf.concat(pieces, 1);
        const diff = maxAbsDiff(cachedLogits, full);
        assert.ok(diff <= 1e-4, `${mode}: max |cached − full| = ${diff}`);
        model.endDecode(state);
        tf.dispose([cachedLogits, ...pieces]);
      }
    } finally {
      unregister();
    }
    full.dispose();
    model.dispose();
  });
}

test('every stage of every case keeps its barriers in uniform control flow (what Tint requires on the GPU)', async () => {
  await useCpu();
  for (const [i, c] of [...CASES, ...ABSORBED_CASES].entries()) {
    const { terms, v, opts } = inputs(c, 0);
    // The queries as the op passes them: folded into one head where every key and the value are shared.
    const fold = (t: tf.Tensor4D) => (c.vIsK0 ? tf.reshape(t, [c.B, 1, c.H * c.G * c.Tq, t.shape[3]]) : t);
    const ins = terms.flatMap((t) => [fold(t.q), t.k]).concat([v]);
    for (const kernels of [DECODE_ATTENTION_KERNELS, decodeAttentionKernels(1, 4, 'rows'), decodeAttentionKernels(undefined, 8, 'rows'), decodeAttentionKernels(undefined, 1, 'rows'), decodeAttentionKernels(undefined, 1, 'tiled'), decodeAttentionKernels(undefined, 1, 'piped'), decodeAttentionKernels(undefined, 1, 'piped4'), decodeAttentionKernels(undefined, 1, 'keys')]) {
      const stages = kernelStages(kernels[c.terms.length - 1], ins, { scale: opts.scale, qStart: c.qStart, queries: c.Tq });
      for (const s of stages) assert.deepEqual(barrierUniformityProblems(s.wgsl()), [], `case ${i}, ${s.key}`);
    }
    tf.dispose(ins);
  }
});
