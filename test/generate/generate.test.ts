import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheModesFor, CacheMode } from '../../lib/costs/cache-modes';
import { generate } from '../../lib/generate/generate';
import { sampleToken } from '../../lib/generate/sampling';
import { Rng } from '../../lib/data/prng';
import { sharpModel, tokenIds, useCpu } from '../helpers/models';

for (const preset of ['tiny-mla-rope', 'tiny-gqa-rope', 'tiny-mha-decoupled-rope']) {
  test(`${preset}: greedy generation is the same in every cache mode and without a cache (batch 2)`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const prompts = tokenIds(2, 6, model.config.vocabSize, 5);
    const runs: { cache: CacheMode; tokens: number[][] }[] = [];
    for (const cache of ['none', ...cacheModesFor(model.config)] as CacheMode[]) {
      runs.push({ cache, tokens: (await generate(model, prompts, { maxNewTokens: 12, cache })).tokens });
    }
    for (const r of runs) assert.deepEqual(r.tokens, runs[0].tokens, `${r.cache} vs none`);
    assert.equal(runs[0].tokens[0].length, 12);
    // The two sequences differ (a model that ignores its input would fail this).
    assert.notDeepEqual(runs[0].tokens[0], runs[0].tokens[1]);
    model.dispose();
  });
}

test('sampling with a seed is reproducible and a different seed differs', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-norope');
  const prompts = tokenIds(1, 4, model.config.vocabSize, 9);
  const run = async (seed: number) => (await generate(model, prompts, { maxNewTokens: 20, cache: 'absorbed', temperature: 1.5, topK: 50, seed })).tokens[0];
  assert.deepEqual(await run(1), await run(1));
  assert.notDeepEqual(await run(1), await run(2));
  model.dispose();
});

test('top-k never picks outside the k most likely tokens; temperature 0 is argmax', () => {
  const row = [0.1, 3, 2.9, -1, 0.5];
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) assert.ok([1, 2].includes(sampleToken(row, { temperature: 5, topK: 2 }, rng)));
  assert.equal(sampleToken(row, { temperature: 0 }, rng), 1);
});

test('bad generation requests are refused with the reason', async () => {
  await useCpu();
  const model = sharpModel('tiny-mha-norope');
  await assert.rejects(() => generate(model, [[1, 2], [3]], { maxNewTokens: 2, cache: 'kv' }), /same length/);
  await assert.rejects(() => generate(model, [[1, 99999]], { maxNewTokens: 2, cache: 'kv' }), /outside the vocabulary/);
  await assert.rejects(() => generate(model, [[1]], { maxNewTokens: 2, cache: 'latent' }), /cache mode 'latent' does not apply/);
  await assert.rejects(() => generate(model, [[1]], { maxNewTokens: 200, cache: 'kv' }), /exceeds maxSeqLen 64/);
  model.dispose();
});
