// Cached step-by-step decoding must give the full forward pass's logits, for every variant and cache mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cacheModesFor, CacheMode } from '../../lib/costs/cache-modes';
import { absorbedCallExpands } from '../../lib/costs/flops';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';
import { decodeInPieces } from '../helpers/decode';

const PRESETS = ['tiny-mha-norope', 'tiny-mha-rope', 'tiny-gqa-rope', 'tiny-mqa-rope', 'tiny-mqa-norope', 'tiny-mla-norope', 'tiny-mla-rope', 'tiny-mha-decoupled-rope'];
const PROMPT = 5;
const STEPS = 22;


for (const preset of PRESETS) {
  test(`${preset}: cached decoding equals the full forward pass in every cache mode`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32')); // (B, T, V)
    const spread = tf.tidy(() => tf.sub(tf.max(full), tf.min(full)).dataSync()[0]);
    assert.ok(spread > 1, `test model too flat to catch errors (logit spread ${spread})`);
    for (const mode of ['none', ...cacheModesFor(model.config)] as CacheMode[]) {
      const cached = decodeInPieces(model, mode, ids, PROMPT).logits;
      const diff = maxAbsDiff(cached, full);
      assert.ok(diff <= 1e-4, `${preset} mode ${mode}: max |cached - full| = ${diff}`);
      cached.dispose();
    }
    full.dispose();
    model.dispose();
  });
}

for (const preset of ['tiny-mla-rope', 'tiny-mla-norope']) {
  test(`${preset}: an absorbed cache filled by a long prefill (taken re-expanded) decodes as the full forward pass`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const P = 40;
    const N = 12;
    // The prefill goes the expanded way and the steps the absorbed way, so both are covered here.
    assert.equal(absorbedCallExpands(model.config, P, P), true, 'a 40-token prefill is cheaper re-expanded');
    assert.equal(absorbedCallExpands(model.config, 1, P + 1), false, 'a decode step is cheaper absorbed');
    assert.equal(absorbedCallExpands(model.config, 2, P + 2), false, 'two queries against a long cache stay absorbed');
    const ids = tokenIds(2, P + N, model.config.vocabSize, 3);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32')); // (B, T, V)
    const cached = decodeInPieces(model, 'absorbed', ids, P).logits;
    const diff = maxAbsDiff(cached, full);
    assert.ok(diff <= 1e-4, `${preset}: max |cached - full| = ${diff}`);
    tf.dispose([cached, full]);
    model.dispose();
  });
}
