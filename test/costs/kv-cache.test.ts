// The study's KV column (elements per token summed over all layers) from the pure functions, and the cache a
// decode really allocates measured against them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { PRESETS, resolveConfig } from '../../lib/config/presets';
import { cacheModesFor } from '../../lib/costs/cache-modes';
import { kvCacheBytes, kvCacheElements } from '../../lib/costs/kv-cache';
import { cacheElements } from '../../lib/attention/types';
import { sharpModel, tokenIds, useCpu } from '../helpers/models';

const STUDY: Record<string, number> = {
  '35m-mha-rope': 8192,
  '35m-mla-rope': 2856,
  '35m-mqa-rope': 512,
  '35m-mla-norope': 2728,
  '35m-mha-norope': 8192,
  '35m-mqa-norope': 512,
  '300m-mha-norope': 49152,
  '300m-mla-norope': 16368,
  '300m-mqa-norope': 3072,
};

test('the study KV column comes out of kvCacheElements (compact cache, summed over layers)', () => {
  for (const [preset, want] of Object.entries(STUDY)) {
    const got = kvCacheElements(resolveConfig(preset));
    assert.equal(got.perToken, want, preset);
    assert.equal(got.perTokenPerLayer * got.layers, want, preset);
    assert.equal(PRESETS[preset].study?.kvElementsAllLayers, want, `${preset} preset records the study's number`);
  }
});

test('per-layer numbers and bytes are labelled separately', () => {
  const c = resolveConfig('35m-mla-rope');
  const e = kvCacheElements(c, 'latent');
  assert.equal(e.perTokenPerLayer, 341 + 16);
  assert.equal(kvCacheElements(c, 'full').perTokenPerLayer, 2 * 16 * 32);
  assert.equal(kvCacheBytes(c, 'latent', 'fp16').perToken, 2856 * 2);
  assert.equal(kvCacheBytes(c, 'latent', 'fp32').perTokenPerLayer, 357 * 4);
  // MHA with decoupled RoPE: the study counted it expanded (8192); the compact cache stores the shared key once.
  const d = resolveConfig('35m-mha-decoupled-rope');
  assert.equal(kvCacheElements(d, 'full').perToken, 8192);
  assert.equal(kvCacheElements(d, 'kv').perTokenPerLayer, 16 * 16 + 16 + 16 * 32);
});

test('a cache mode that does not apply is refused', () => {
  assert.throws(() => kvCacheElements(resolveConfig('35m-mha-rope'), 'latent'), /cache mode 'latent' does not apply/);
});

for (const preset of ['tiny-mha-rope', 'tiny-gqa-norope', 'tiny-mqa-rope', 'tiny-mla-rope', 'tiny-mla-norope', 'tiny-mha-decoupled-rope']) {
  test(`${preset}: the cache a decode allocates has exactly the computed size`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const B = 3, T = 11;
    for (const mode of cacheModesFor(model.config)) {
      let state = model.startDecode(B, mode);
      const r = model.decode(tf.tensor2d(tokenIds(B, T, model.config.vocabSize), undefined, 'int32'), state);
      state = r.state;
      r.logits.dispose();
      const measured = state.caches.reduce((a, c) => a + cacheElements(c), 0);
      assert.equal(measured, kvCacheElements(model.config, mode).perToken * T * B, `${preset} ${mode}`);
      model.endDecode(state);
    }
    model.dispose();
  });
}
