import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESET_NAMES, PRESETS, resolveConfig } from '../../lib/config/presets';
import { CacheQuantFormat, quantizedKvCacheBytes } from '../../lib/costs/kv-cache';
import { DEEPSEEK_MLA, deepseekCacheConfigs } from '../../lib/notebook/deepseek';
import { KV_CONTEXTS, kvCacheQuantRows, kvCacheRows } from '../../lib/notebook/kv-cache-report';

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

// Bytes per token and layer of the latent cache, int8 / int4 with groups of 32, as `mla info --group-size 32`
// printed them: codes (int4 two per byte, rounded up) + ceil(d_c / 32) fp32 scales + the fp32 RoPE key.
const QUANT_BYTES: Record<string, { int8: number; int4: number }> = {
  '35m-mla-rope': { int8: 449, int4: 279 }, // 341 + 11·4 + 16·4; 171 + 44 + 64
  '35m-mla-norope': { int8: 385, int4: 215 },
  '300m-mla-norope': { int8: 770, int4: 429 }, // 682 + 22·4; 341 + 88
  'DeepSeek-V2': { int8: 832, int4: 576 }, // 512 + 16·4 + 64·4; 256 + 64 + 256
  'DeepSeek-V3': { int8: 832, int4: 576 },
};

test('quantized latent cache rows: the bytes mla info printed, for the study presets and DeepSeek', () => {
  const rows = kvCacheQuantRows();
  for (const [model, want] of Object.entries(QUANT_BYTES)) {
    for (const format of ['int8', 'int4'] as const) {
      const r = rows.find((x) => x.model === model && x.format === format);
      assert.ok(r, `${model} ${format} is missing`);
      assert.equal(r.bytes_per_layer, want[format], `${model} ${format}`);
      assert.equal(r.group_size, 32);
    }
  }
});

test('quantized latent cache rows: every MLA preset and DeepSeek in five formats, each from the cost functions', () => {
  const rows = kvCacheQuantRows({ dtype: 'bf16' });
  const mla = PRESET_NAMES.filter((n) => resolveConfig(n).attention === 'mla');
  assert.deepEqual([...new Set(rows.map((r) => r.model))], [...mla, ...Object.keys(DEEPSEEK_MLA)], 'MLA presets only, then DeepSeek');
  const fp32Rows = kvCacheRows('fp32');
  for (const model of new Set(rows.map((r) => r.model))) {
    const mine = rows.filter((r) => r.model === model);
    assert.deepEqual(mine.map((r) => r.format), ['fp32', 'bf16', 'int8', 'int4', 'fp8']);
    const published = Object.values(DEEPSEEK_MLA).find((m) => m.name === model);
    const config = published ? deepseekCacheConfigs(published).mla : resolveConfig(model);
    const [fp32, half] = mine;
    // The plain cache is the one the other table counts; bf16 is half of it, part by part.
    const latentRow = fp32Rows.find((r) => r.model === model && r.mode === 'latent')!;
    assert.equal(fp32.bytes_all_layers, latentRow.bytes_per_token);
    assert.deepEqual([half.latent_bytes, half.rope_key_bytes, half.bytes_per_layer], [fp32.latent_bytes / 2, fp32.rope_key_bytes / 2, fp32.bytes_per_layer / 2]);
    for (const r of mine) {
      assert.equal(r.latent_bytes + r.scale_bytes + r.rope_key_bytes, r.bytes_per_layer, `${model} ${r.format}: parts add up`);
      assert.equal(r.bytes_all_layers, r.bytes_per_layer * r.layers);
      assert.equal(r.fraction_of_fp32, r.bytes_per_layer / fp32.bytes_per_layer);
      assert.equal(r.mib_128k, (r.bytes_all_layers * KV_CONTEXTS['128k']) / 2 ** 20);
      if (r.group_size === null) continue;
      const q = quantizedKvCacheBytes(config, 'absorbed', { format: r.format as CacheQuantFormat, groupSize: 32 });
      assert.deepEqual([r.latent_bytes, r.scale_bytes, r.rope_key_bytes, r.bytes_per_layer], [q.codes, q.scales, q.ropeKey, q.perTokenPerLayer]);
    }
  }
  // The group size is an option: 35m-mla-rope int8 in groups of 64 has 6 scales instead of 11.
  const g64 = kvCacheQuantRows({ groupSize: 64 }).find((r) => r.model === '35m-mla-rope' && r.format === 'int8')!;
  assert.deepEqual([g64.group_size, g64.scale_bytes, g64.bytes_per_layer], [64, 24, 341 + 24 + 64]);
});
