// A prompt fed in pieces leaves the cache a single call would: the last position's logits, and the logits of the
// decode steps after it, equal those of one prefill call, in every cache mode, for batch > 1 and for pieces that
// do not divide the prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cacheModesFor, CacheMode } from '../../lib/costs/cache-modes';
import { prefill } from '../../lib/generate/prefill';
import type { GPT } from '../../lib/model/gpt';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

/** The last prompt position's logits and two decode steps' logits after a prefill of `ids` in pieces of `perCall`. */
function decodeAfter(model: GPT, mode: CacheMode, ids: number[][], perCall: number) {
  const B = ids.length;
  const prompt = tf.tensor2d(ids, [B, ids[0].length], 'int32');
  const pre = prefill(model, prompt, model.startDecode(B, mode), perCall);
  prompt.dispose();
  let state = pre.state;
  const out = [pre.logits];
  for (const id of [3, 11]) {
    const x = tf.tensor2d(ids.map(() => [id]), [B, 1], 'int32');
    const r = model.decode(x, state);
    x.dispose();
    state = r.state;
    out.push(r.logits);
  }
  const length = state.length;
  model.endDecode(state);
  return { logits: out, calls: pre.calls, length };
}

for (const preset of ['tiny-mla-rope', 'tiny-gqa-rope', 'tiny-mha-norope']) {
  test(`${preset}: a prefill in pieces gives the logits of one call in every cache mode (batch 2, pieces of 3 of 10)`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const ids = tokenIds(2, 10, model.config.vocabSize, 4);
    for (const mode of cacheModesFor(model.config)) {
      const whole = decodeAfter(model, mode, ids, 1 << 20);
      const pieces = decodeAfter(model, mode, ids, 6); // ⌊6 / 2⌋ = 3 positions per call: 3, 3, 3, 1
      assert.equal(whole.calls, 1);
      assert.equal(pieces.calls, 4, mode);
      assert.deepEqual(pieces.logits[0].shape, [2, 1, model.config.vocabSize]);
      assert.equal(pieces.length, 12);
      for (let i = 0; i < whole.logits.length; i++) {
        const d = maxAbsDiff(whole.logits[i], pieces.logits[i]);
        assert.ok(d < 1e-4, `${mode}, output ${i}: max |diff| ${d}`);
      }
      // Not trivially equal: the two sequences' last logits differ.
      const rows = pieces.logits[0].arraySync() as number[][][];
      assert.ok(rows[0][0].some((v, j) => Math.abs(v - rows[1][0][j]) > 1e-3));
      tf.dispose([...whole.logits, ...pieces.logits]);
    }
    model.dispose();
  });
}

test('a prefill without a cache goes in one call; a bad piece size is refused', async () => {
  await useCpu();
  const model = sharpModel('tiny-mha-norope');
  const ids = tokenIds(1, 7, model.config.vocabSize, 2);
  const prompt = tf.tensor2d(ids, [1, 7], 'int32');
  const r = prefill(model, prompt, model.startDecode(1, 'none'), 2);
  assert.equal(r.calls, 1);
  assert.deepEqual(r.logits.shape, [1, 1, model.config.vocabSize]);
  r.logits.dispose();
  model.endDecode(r.state);
  assert.throws(() => prefill(model, prompt, model.startDecode(1, 'kv'), 0), /maxTokensPerCall must be a positive integer, got 0/);
  // A batch wider than the budget still advances one position per call.
  const wide = tf.tensor2d(tokenIds(4, 3, model.config.vocabSize, 8), [4, 3], 'int32');
  const w = prefill(model, wide, model.startDecode(4, 'kv'), 2);
  assert.equal(w.calls, 3);
  w.logits.dispose();
  model.endDecode(w.state);
  tf.dispose([prompt, wide]);
  model.dispose();
});
