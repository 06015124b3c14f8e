// The greedy decode loop that keeps the next token on the device (lib/generate/decode-loop.ts) and generate's
// greedy path over it: the same tokens as a plain host argmax over the whole prefix, one step encoded ahead, no
// tensor left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { DECODE_SYNC_CHUNK, greedyNext, timedDecodeSteps } from '../../lib/generate/decode-loop';
import { generate } from '../../lib/generate/generate';
import { prefill } from '../../lib/generate/prefill';
import { argmax } from '../../lib/generate/sampling';
import type { GPT } from '../../lib/model/gpt';
import { sharpModel, tokenIds, useCpu } from '../helpers/models';

/** Greedy tokens by the definition: the whole prefix through the model, argmax on the host, no cache. */
function referenceGreedy(model: GPT, prompts: number[][], n: number): number[][] {
  const seqs = prompts.map((p) => [...p]);
  const V = model.config.vocabSize;
  for (let i = 0; i < n; i++) {
    const ids = tf.tensor2d(seqs, undefined, 'int32');
    const logits = model.logits(ids); // (B, T, V)
    const rows = logits.dataSync();
    const T = seqs[0].length;
    seqs.forEach((s, b) => s.push(argmax(rows.subarray((b * T + T - 1) * V, (b * T + T) * V))));
    tf.dispose([ids, logits]);
  }
  return seqs.map((s) => s.slice(prompts[0].length));
}

for (const [preset, cache] of [['tiny-mla-rope', 'absorbed'], ['tiny-mha-rope', 'kv'], ['tiny-mla-norope', 'latent']] as const) {
  test(`${preset} ${cache}: greedy generate gives the definition's tokens, encoding each step before the last token is read, and leaves no tensor`, async () => {
    await useCpu();
    const model = sharpModel(preset);
    const prompts = tokenIds(2, 5, model.config.vocabSize, 11);
    const n = 9;
    const want = referenceGreedy(model, prompts, n);
    assert.notDeepEqual(want[0], want[1]); // a model that ignored its input would pass the rest
    await generate(model, prompts, { maxNewTokens: n, cache }); // what a model keeps from its first decode to a length (constants, tables) is not the loop's
    const before = tf.memory().numTensors;
    // Decode calls made by the time each token is handed out, after the prefill's.
    const decode = model.decode.bind(model);
    let calls = 0;
    model.decode = (ids, state) => (calls++, decode(ids, state));
    const seen: number[] = [];
    let base = 0;
    const r = await generate(model, prompts, {
      maxNewTokens: n, cache, onToken: (step) => {
        if (step === 0) base = calls;
        seen.push(calls - base);
      },
    });
    assert.deepEqual(r.tokens, want);
    // Token k (1 ≤ k < n − 1) is read after step k + 1 is encoded; the last token has no step after it.
    assert.deepEqual(seen, [0, ...Array.from({ length: n - 2 }, (_, i) => i + 2), n - 1]);
    assert.equal(r.stepMs.length, n - 1);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}

test('greedy generate of one token is the prefill argmax and decodes nothing', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const prompts = tokenIds(1, 4, model.config.vocabSize, 3);
  const before = tf.memory().numTensors;
  const r = await generate(model, prompts, { maxNewTokens: 1, cache: 'latent' });
  assert.deepEqual(r.tokens, referenceGreedy(model, prompts, 1));
  assert.deepEqual(r.stepMs, []);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test("timedDecodeSteps: 'end' and 'step' make the same tokens, time per step or per chunk, keep the caller's token and move the state on", async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const prompts = tokenIds(2, 6, model.config.vocabSize, 4);
  const steps = DECODE_SYNC_CHUNK + 3; // a full chunk and a short one
  const want = referenceGreedy(model, prompts, steps + 1);
  const run = async (sync: 'end' | 'step') => {
    const ids = tf.tensor2d(prompts, undefined, 'int32');
    const pre = prefill(model, ids, model.startDecode(2, 'absorbed'));
    const at = { state: pre.state };
    const first = greedyNext(pre.logits);
    tf.dispose([ids, pre.logits]);
    const r = await timedDecodeSteps(model, first, at, steps, sync);
    assert.ok(!first.isDisposed, 'the token passed in stays the caller\'s');
    assert.equal(at.state.length, prompts[0].length + steps);
    const last = Array.from(await r.token.data());
    tf.dispose([first, r.token]);
    model.endDecode(at.state);
    return { last, ms: r.msPerStep };
  };
  const before = tf.memory().numTensors;
  const end = await run('end');
  const step = await run('step');
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(end.last, want.map((s) => s[steps]));
  assert.deepEqual(step.last, end.last);
  assert.equal(step.ms.length, steps);
  assert.equal(end.ms.length, 2);
  assert.ok([...end.ms, ...step.ms].every((m) => m > 0 && Number.isFinite(m)));
  model.dispose();
});

test('timedDecodeSteps: a step that throws leaves the newest state in the holder to end, and no token behind; a bad sync is refused', async () => {
  await useCpu();
  const model = sharpModel('tiny-mha-rope'); // maxSeqLen 64: RoPE tables end there
  const ids = tf.tensor2d(tokenIds(1, 60, model.config.vocabSize, 2), undefined, 'int32');
  const pre = prefill(model, ids, model.startDecode(1, 'kv'));
  const at = { state: pre.state };
  const first = greedyNext(pre.logits);
  tf.dispose([ids, pre.logits]);
  const before = tf.memory().numTensors;
  await assert.rejects(timedDecodeSteps(model, first, at, 10, 'end'));
  assert.ok(at.state.length > 60, 'the steps that ran moved the holder on');
  model.endDecode(at.state);
  first.dispose();
  assert.ok(tf.memory().numTensors < before);
  await assert.rejects(timedDecodeSteps(model, first, at, 1, 'sometimes' as never), /sync 'sometimes' must be one of step, end/);
  model.dispose();
});
