import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../lib/config/presets';
import { decodeStepBytes, generationBytes, largestDecodeTensorBytes } from '../../lib/costs/decode-bytes';
import { kvCacheBytes, quantizedKvCacheBytes } from '../../lib/costs/kv-cache';
import { paramCount } from '../../lib/costs/params';

test('decodeStepBytes: 35m-mla-rope and 35m-mha-rope at context 512, batch 1, fp32 (golden values)', () => {
  const mla = resolveConfig('35m-mla-rope');
  const mha = resolveConfig('35m-mha-rope');
  // Weights: all parameters but the 10,000 × 512 token table, plus the one row looked up.
  assert.equal(decodeStepBytes(mla, 512, 'absorbed').weights, 4 * (paramCount(mla).total - 10000 * 512 + 512));
  assert.equal(decodeStepBytes(mla, 512, 'absorbed').cache, 2856 * 4 * 512); // 357 elements × 8 layers per token
  assert.equal(decodeStepBytes(mla, 512, 'full').cache, 8192 * 4 * 512);
  assert.equal(decodeStepBytes(mha, 512, 'kv').cache, 8192 * 4 * 512);
  assert.equal(decodeStepBytes(mha, 512, 'kv').total, decodeStepBytes(mha, 512, 'kv').weights + 8192 * 4 * 512);
});

test('decodeStepBytes: weights do not depend on mode or context; cache scales with context and batch', () => {
  const c = resolveConfig('small-mla-rope');
  const w = decodeStepBytes(c, 0, 'latent').weights;
  for (const mode of ['latent', 'absorbed', 'full', 'none'] as const) assert.equal(decodeStepBytes(c, 1000, mode).weights, w);
  assert.equal(decodeStepBytes(c, 0, 'latent').cache, 0);
  assert.equal(decodeStepBytes(c, 1000, 'none').cache, 0);
  assert.equal(decodeStepBytes(c, 300, 'latent', { batch: 16 }).cache, kvCacheBytes(c, 'latent').perToken * 300 * 16);
  // Each sequence reads its own embedding row: batch adds B·C elements of weights and nothing else.
  assert.equal(decodeStepBytes(c, 300, 'latent', { batch: 16 }).weights - w, 4 * 15 * c.dModel);
  assert.equal(decodeStepBytes(c, 300, 'latent', { dtype: 'bf16' }).cache, kvCacheBytes(c, 'latent').perToken * 300 / 2);
});

test('decodeStepBytes: learned positions add one row of the position table per sequence', () => {
  const c = resolveConfig('35m-mla-norope');
  const p = paramCount(c);
  assert.ok(p.positions > 0);
  assert.equal(decodeStepBytes(c, 10, 'latent', { batch: 2 }).weights, 4 * (p.total - p.embedding - p.positions + 2 * 2 * c.dModel));
});

test('decodeStepBytes: a quantized latent cache reads its codes, scales and fp32 RoPE key', () => {
  const c = resolveConfig('35m-mla-rope');
  const quant = { format: 'int8' as const, groupSize: 32 };
  assert.equal(decodeStepBytes(c, 512, 'absorbed', { quant }).cache, quantizedKvCacheBytes(c, 'absorbed', quant).perToken * 512);
  assert.equal(quantizedKvCacheBytes(c, 'absorbed', quant).perTokenPerLayer, 449);
  assert.throws(() => decodeStepBytes(c, -1, 'absorbed'), /context/);
  assert.throws(() => decodeStepBytes(c, 1, 'kv'), /./);
});

test('generationBytes: a prefill reads the weights once, then one step per further new token at its own context', () => {
  const c = resolveConfig('35m-mla-rope');
  const w = decodeStepBytes(c, 0, 'absorbed').weights;
  const perToken = 2856 * 4; // the absorbed cache's bytes per cached token (357 elements × 8 layers, fp32)
  // One new token: the prefill alone; it looks up 100 rows of the token table (99 beyond the step's one).
  const one = generationBytes(c, 100, 1, 'absorbed');
  assert.deepEqual(one, { prefill: w + 99 * 512 * 4, decode: 0, steps: 0, total: w + 99 * 512 * 4 });
  // Three new tokens: steps at contexts 100 and 101.
  const three = generationBytes(c, 100, 3, 'absorbed');
  assert.equal(three.steps, 2);
  assert.equal(three.decode, 2 * w + perToken * (100 + 101));
  assert.equal(three.total, three.prefill + three.decode);
  // A longer prompt adds its cache to every step; mode 'none' reads no cache.
  assert.equal(generationBytes(c, 200, 3, 'absorbed').decode - three.decode, 2 * 100 * perToken);
  assert.equal(generationBytes(c, 100, 3, 'none').decode, 2 * w);
  assert.throws(() => generationBytes(c, 0, 3, 'absorbed'), /prompt tokens 0/);
  assert.throws(() => generationBytes(c, 10, 0, 'absorbed'), /new tokens 0/);
});

test('largestDecodeTensorBytes: the one buffer a step binds, by hand, against a 2 GiB binding limit', () => {
  const mla = resolveConfig('35m-mla-rope'); // H 16, D 32, kvRank 341
  const mha = resolveConfig('35m-mha-rope');
  const rows = (ctx: number) => Math.ceil((ctx + 1) / 64) * 64; // the buffer after the step's own row
  assert.equal(largestDecodeTensorBytes(mla, 1000, 'absorbed', 4), 4 * rows(1000) * 341 * 4);
  assert.equal(largestDecodeTensorBytes(mla, 1000, 'full', 4), 4 * 16 * rows(1000) * 32 * 4);
  assert.equal(largestDecodeTensorBytes(mla, 1000, 'latent', 4), 4 * rows(1000) * 512 * 4, "latent: the (B, H, S, D) values it re-expands, wider than the latent");
  assert.equal(largestDecodeTensorBytes(mha, 1000, 'kv', 2), 2 * rows(1000) * 512 * 4);
  assert.equal(largestDecodeTensorBytes(resolveConfig('35m-mqa-rope'), 1000, 'kv'), rows(1000) * 32 * 4);
  assert.equal(largestDecodeTensorBytes(mla, 1000, 'none'), 0);
  // At batch 64 and 32k tokens only absorbed MLA's latent is near 2 GiB; batch 16 × 32k fits every mode.
  const GiB2 = 2 ** 31;
  assert.ok(largestDecodeTensorBytes(mla, 32768 - 20, 'full', 64) > GiB2);
  assert.ok(largestDecodeTensorBytes(mla, 32768 - 20, 'absorbed', 64) > GiB2);
  for (const mode of ['full', 'latent', 'absorbed'] as const) assert.ok(largestDecodeTensorBytes(mla, 32768 - 100, mode, 16) <= GiB2, mode);
});
