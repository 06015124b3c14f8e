// GQA with as many KV heads as query heads is MHA: same weights, same logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../../lib/config/presets';
import { GPT } from '../../lib/model/gpt';
import { maxAbsDiff, sharpParams, tokenIds, useCpu } from '../helpers/models';

test('GQA with nKvHeads = nHeads gives MHA logits with the same weights', async () => {
  await useCpu();
  const mhaCfg = resolveConfig('tiny-mha-rope', { dropout: 0 });
  const gqaCfg = resolveConfig('tiny-gqa-rope', { dropout: 0, nKvHeads: mhaCfg.nHeads });
  assert.equal(gqaCfg.attention, 'gqa');
  const params = sharpParams(mhaCfg, 3);
  const mha = new GPT(mhaCfg, params);
  const gqa = new GPT(gqaCfg, params);
  const ids = tf.tensor2d(tokenIds(2, 12, mhaCfg.vocabSize), undefined, 'int32');
  const diff = maxAbsDiff(mha.logits(ids), gqa.logits(ids));
  assert.ok(diff === 0, `max diff ${diff}`);
});

test('GQA with 2 KV heads equals MHA whose K/V heads are copied per group', async () => {
  await useCpu();
  const cfg2 = resolveConfig('tiny-gqa-norope', { dropout: 0, nKvHeads: 2 }); // 4 query heads, 2 KV heads
  assert.equal(cfg2.nHeads, 4);
  const mhaCfg = resolveConfig('tiny-mha-norope', { dropout: 0 });
  const p = sharpParams(cfg2, 5);
  // Expand W_k, W_v (C, 2·D) to (C, 4·D): query head h reads KV head floor(h / 2).
  const D = cfg2.dModel / cfg2.nHeads;
  const expand = (w: tf.Tensor) => {
    const [C] = w.shape;
    const heads = tf.reshape(w, [C, 2, 1, D]);
    return tf.reshape(tf.tile(heads, [1, 1, 2, 1]), [C, 4 * D]);
  };
  const mp = sharpParams(mhaCfg, 5);
  for (const name of Object.keys(mp)) {
    const src = /attn\.w_[kv]$/.test(name) ? expand(p[name]) : p[name];
    mp[name].assign(src);
  }
  const ids = tf.tensor2d(tokenIds(2, 10, cfg2.vocabSize), undefined, 'int32');
  const diff = maxAbsDiff(new GPT(cfg2, p).logits(ids), new GPT(mhaCfg, mp).logits(ids));
  assert.ok(diff < 1e-5, `max diff ${diff}`);
});
