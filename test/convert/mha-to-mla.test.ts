// MHA → MLA conversion: exact at full rank for learned positions (and for RoPE where the shared RoPE key can
// hold every head's), and an error that falls as the KV rank grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { convertCheckpoint, convertModel } from '../../lib/convert/convert-model';
import type { GPT } from '../../lib/model/gpt';
import { loadModel } from '../../lib/model/load';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

// Float32 weights from a float64 SVD: the logits of a full-rank conversion agree to ~1e-6 of their spread.
const EXACT_TOL = 1e-4;

function logitsOf(model: GPT, ids: number[][]): tf.Tensor3D {
  return model.logits(tf.tensor2d(ids, undefined, 'int32'));
}

/**
 * Converts a sharp test model of `preset` and returns the max |Δ| between its logits and the source's, the
 * source's logit spread, the report and the converted config (both models are disposed).
 */
async function conversionError(preset: string, opts: Parameters<typeof convertModel>[1], overrides = {}) {
  const source = sharpModel(preset, overrides);
  const ids = tokenIds(2, 24, source.config.vocabSize);
  const { model, report } = await convertModel(source, opts);
  const a = logitsOf(source, ids);
  const b = logitsOf(model, ids);
  const err = maxAbsDiff(a, b);
  const spread = tf.tidy(() => tf.sub(tf.max(a), tf.min(a)).dataSync()[0]);
  const config = model.config;
  tf.dispose([a, b]);
  model.dispose();
  source.dispose();
  return { err, spread, report, config };
}

for (const preset of ['tiny-mha-norope', 'tiny-gqa-norope', 'tiny-mqa-norope']) {
  test(`${preset}: full-rank conversion gives the MHA model's logits (max |Δ| ≤ ${EXACT_TOL})`, async () => {
    await useCpu();
    const { err, spread, report, config } = await conversionError(preset, { kvRank: 64 });
    assert.ok(spread > 1, `test model too flat (spread ${spread})`);
    assert.ok(err <= EXACT_TOL, `${preset}: max |Δ logits| = ${err}`);
    assert.equal(report.exact, true);
    assert.equal(config.attention, 'mla');
    assert.equal(config.latentNorm, 'none');
  });
}

test('GQA is exact already at kvRank = 2·Hk·D, the rank of its repeated [K | V] (TransMLA)', async () => {
  await useCpu();
  // tiny-gqa: 4 heads sharing 1 KV head of 16 dims at d 64, so [K | V] has rank 32.
  const { err } = await conversionError('tiny-gqa-norope', { kvRank: 32 });
  assert.ok(err <= EXACT_TOL, `kvRank 32: max |Δ logits| = ${err}`);
});

test('tiny-mha-norope: the logit error falls monotonically with the KV rank', async () => {
  await useCpu();
  const errs: number[] = [];
  for (const kvRank of [4, 8, 16, 32, 48, 64]) errs.push((await conversionError('tiny-mha-norope', { kvRank })).err);
  for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], `errors by rank not decreasing: ${errs.map((e) => e.toExponential(2)).join(', ')}`);
  assert.ok(errs[errs.length - 1] <= EXACT_TOL);
});

test('MQA with partial RoPE converts exactly: one KV head means one RoPE key to share', async () => {
  await useCpu();
  // The last 8 of 16 dims rotated, kept as MLA's 8 RoPE dims.
  const { err, report } = await conversionError('tiny-mqa-rope', { kvRank: 64, ropeDim: 8 }, { ropeDim: 8 });
  assert.ok(err <= EXACT_TOL, `max |Δ logits| = ${err}`);
  assert.equal(report.exact, true);
  assert.ok(report.layers.every((l) => l.sharedKeyResidual < 1e-9));
});

test('MHA with full RoPE converts approximately: the report says what was kept and what was lost', async () => {
  await useCpu();
  const { err, spread, report, config } = await conversionError('tiny-mha-rope', { kvRank: 64, ropeDim: 8 });
  assert.equal(report.exact, false);
  assert.equal(config.ropeDim, 8);
  for (const l of report.layers) {
    assert.equal(l.ropeImportance.length, 8); // the D/2 pairs of a 16-dim head
    assert.ok(l.ropeKeptShare > 0 && l.ropeKeptShare <= l.ropeBestShare + 1e-12);
    assert.ok(l.sharedKeyResidual > 0 && l.sharedKeyResidual < 1);
  }
  assert.ok(Number.isFinite(err) && err < spread, `error ${err} against spread ${spread}`);
});

test('a converted model decodes through every MLA cache as its own forward pass does', async () => {
  await useCpu();
  const source = sharpModel('tiny-mha-rope');
  const { model } = await convertModel(source, { kvRank: 24, ropeDim: 8, qRank: 32 });
  const ids = tokenIds(1, 12, model.config.vocabSize);
  const full = logitsOf(model, ids);
  for (const mode of ['latent', 'absorbed', 'full'] as const) {
    let state = model.startDecode(1, mode);
    const rows: tf.Tensor3D[] = [];
    for (const id of ids[0]) {
      const r = model.decode(tf.tensor2d([[id]], [1, 1], 'int32'), state);
      state = r.state;
      rows.push(r.logits);
    }
    model.endDecode(state);
    const cached = tf.concat(rows, 1);
    assert.ok(maxAbsDiff(cached, full) <= 1e-4, `mode ${mode}`);
    tf.dispose([cached, ...rows]);
  }
  full.dispose();
  model.dispose();
  source.dispose();
});

test('convertCheckpoint writes a checkpoint that loads as the converted MLA model', async () => {
  await useCpu();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-convert-'));
  const source = sharpModel('tiny-mha-norope');
  const from = path.join(dir, 'mha.safetensors');
  const out = path.join(dir, 'mla.safetensors');
  await saveCheckpoint(from, source.params, source.config);
  const result = convertCheckpoint(from, out, { kvRank: 64 });
  const { model, metadata } = loadModel(out);
  assert.deepEqual(model.config, result.config);
  assert.equal(metadata.convertedFrom, from);
  const ids = tokenIds(1, 16, source.config.vocabSize);
  const a = logitsOf(source, ids);
  const b = logitsOf(model, ids);
  assert.ok(maxAbsDiff(a, b) <= EXACT_TOL);
  tf.dispose([a, b]);
  model.dispose();
  source.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('conversion options are checked with the bad value in the message', async () => {
  await useCpu();
  const source = sharpModel('tiny-mha-norope');
  await assert.rejects(convertModel(source, { kvRank: 65 }), /kvRank = 65/);
  await assert.rejects(convertModel(source, { kvRank: 16, ropeDim: 8 }), /--rope-dims 8: the source has learned positions/);
  const rope = sharpModel('tiny-mha-rope');
  await assert.rejects(convertModel(rope, { kvRank: 16, ropeDim: 16 }), /--rope-dims 16 must be even with 0 < r < 16/);
  const mla = sharpModel('tiny-mla-norope');
  await assert.rejects(convertModel(mla, { kvRank: 16 }), /this one is 'mla'/);
  [source, rope, mla].forEach((m) => m.dispose());
});
