import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESET_NAMES, PRESETS } from '../../lib/config/presets';
import { DEEPSEEK_MLA } from '../../lib/notebook/deepseek';
import { KV_CONTEXTS, kvCacheRows } from '../../lib/notebook/kv-cache-report';

test('every preset appears, and every number the study printed is reproduced by one of its cache modes', () => {
  const rows = kvCacheRows('fp16');
  for (const name of PRESET_NAMES) assert.ok(rows.some((r) => r.model === name), `${name} is missing`);
  const studied = PRESET_NAMES.filter((n) => PRESETS[n].study?.kvElementsAllLayers !== undefined);
  assert.ok(studied.length >= 10);
  for (const name of studied) {
    const mine = rows.filter((r) => r.model === name);
    assert.ok(mine.every((r) => r.study_all_layers === PRESETS[name].study!.kvElementsAllLayers));
    assert.ok(mine.some((r) => r.matches === true), `no cache mode of ${name} gives the study's ${mine[0].study_all_layers}`);
  }
  // Rows of presets the study did not report compare with nothing.
  assert.ok(rows.filter((r) => r.source === 'preset' && r.study_all_layers === null).every((r) => r.matches === null));
});

test("DeepSeek's latent cache is the published 512 + 64 elements per layer", () => {
  const rows = kvCacheRows('fp16');
  for (const m of Object.values(DEEPSEEK_MLA)) {
    const latent = rows.find((r) => r.model === m.name)!;
    assert.equal(latent.mode, 'latent');
    assert.equal(latent.elements_per_layer, m.kvRank + m.ropeHeadDim);
    assert.equal(latent.elements_per_layer, m.publishedKvPerTokenPerLayer);
    assert.equal(latent.elements_all_layers, m.publishedKvPerTokenPerLayer * m.layers);
    assert.equal(latent.matches, true);
    const mha = rows.find((r) => r.model === `${m.name} (as MHA)`)!;
    assert.equal(mha.elements_per_layer, 2 * m.heads * m.headDim);
    assert.equal(mha.matches, true);
  }
});

test('bytes and memory follow from the elements, the dtype and the context', () => {
  const half = kvCacheRows('fp16');
  const full = kvCacheRows('fp32');
  assert.equal(half.length, full.length);
  half.forEach((r, i) => {
    assert.equal(r.bytes_per_token, 2 * r.elements_all_layers);
    assert.equal(full[i].bytes_per_token, 2 * r.bytes_per_token);
    assert.equal(r.mib_1k, (r.bytes_per_token * KV_CONTEXTS['1k']) / 2 ** 20);
    assert.equal(r.mib_128k, 128 * r.mib_1k);
    assert.equal(r.mib_32k, 32 * r.mib_1k);
  });
});
