// Partial RoPE on the MHA family (rotate the last ropeDim dims of each head): ropeDim = D is the whole-head
// path, a head whose rotated dims carry nothing is the no-position path, and cached decoding equals the forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../../lib/config/presets';
import { deriveSizes } from '../../lib/config/model-config';
import { GPT } from '../../lib/model/gpt';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

const ids = tokenIds(2, 20, 512);
const logitsOf = (m: GPT) => m.logits(tf.tensor2d(ids, undefined, 'int32'));

test('ropeDim = D rotates the whole head, as ropeDim 0 (the presets) does', async () => {
  await useCpu();
  const whole = sharpModel('tiny-mha-rope');
  const asD = new GPT(resolveConfig('tiny-mha-rope', { dropout: 0, ropeDim: 16 }), whole.params);
  assert.equal(deriveSizes(asD.config).rotaryDim, 16);
  assert.equal(maxAbsDiff(logitsOf(whole), logitsOf(asD)), 0);
  whole.dispose();
});

test('partial RoPE whose rotated dims are zero in W_q and W_k is the no-position path', async () => {
  await useCpu();
  const partial = sharpModel('tiny-gqa-rope', { ropeDim: 8 });
  const D = 16;
  // Zero the last 8 dims of every q and k head: the rotated part contributes nothing to any score.
  for (const [name, p] of Object.entries(partial.params)) {
    if (!/attn\.w_[qk]$/.test(name)) continue;
    const mask = tf.tidy(() => tf.tile(tf.concat([tf.ones([1, D - 8]), tf.zeros([1, 8])], 1), [1, p.shape[1]! / D]));
    p.assign(tf.mul(p, mask));
    mask.dispose();
  }
  const c = resolveConfig('tiny-gqa-norope', { dropout: 0 });
  const params = { ...partial.params, pos_emb: tf.variable(tf.zeros([c.maxSeqLen, c.dModel])) };
  const nope = new GPT(c, params);
  const diff = maxAbsDiff(logitsOf(partial), logitsOf(nope));
  assert.ok(diff <= 1e-5, `max |Δ| = ${diff}`);
  const rotated = sharpModel('tiny-gqa-rope', { ropeDim: 8 });
  assert.ok(maxAbsDiff(logitsOf(rotated), logitsOf(nope)) > 1e-2, 'the rotated dims do matter when they are not zero');
  partial.dispose();
  rotated.dispose();
});

for (const preset of ['tiny-mha-rope', 'tiny-gqa-rope', 'tiny-mqa-rope']) {
  test(`${preset} with partial RoPE (8 of 16 dims): cached decoding equals the full forward`, async () => {
    await useCpu();
    const model = sharpModel(preset, { ropeDim: 8 });
    const full = logitsOf(model);
    let state = model.startDecode(2, 'kv');
    const rows: tf.Tensor3D[] = [];
    for (let t = 0; t < ids[0].length; t++) {
      const r = model.decode(tf.tensor2d(ids.map((s) => [s[t]]), undefined, 'int32'), state);
      state = r.state;
      rows.push(r.logits);
    }
    model.endDecode(state);
    const diff = maxAbsDiff(tf.concat(rows, 1), full);
    assert.ok(diff <= 1e-4, `max |Δ| = ${diff}`);
    model.dispose();
  });
}

test('partial RoPE is validated: even, at most the head dim', () => {
  assert.throws(() => resolveConfig('tiny-mha-rope', { ropeDim: 7 }), /ropeDim = 7; must be even/);
  assert.throws(() => resolveConfig('tiny-mha-rope', { ropeDim: 18 }), /ropeDim = 18; attention 'mha' rotates at most the whole head/);
  assert.equal(deriveSizes(resolveConfig('tiny-mha-rope', { ropeDim: 8 })).nopeDim, 8);
});
