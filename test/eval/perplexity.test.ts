// Perplexity: exp of the mean token cross-entropy over non-overlapping windows that cover the split in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { perplexity } from '../../lib/eval/perplexity';
import { ToyBigram, toyConfig, toyCorpus, useCpu } from '../train/toy';

/** Cross-entropy of every prediction one at a time: the oracle (a bigram model needs no context). */
function perTokenLosses(model: ToyBigram, tokens: Int32Array, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(tf.tidy(() => model.loss(tf.tensor2d([[tokens[i]]], [1, 1], 'int32'), tf.tensor2d([[tokens[i + 1]]], [1, 1], 'int32')).dataSync()[0]));
  }
  return out;
}

test('equals exp(mean CE) of every next-token prediction, each scored once, whatever the batching', async () => {
  await useCpu();
  const model = new ToyBigram(toyConfig(16, 0), 4);
  const tokens = toyCorpus(103, 16, 9);
  const oracle = perTokenLosses(model, tokens, 102);
  const mean = oracle.reduce((a, b) => a + b) / oracle.length;
  for (const [seqLen, batchSize] of [[8, 3], [10, 1], [32, 4], [31, 2]]) {
    const r = await perplexity(model, tokens, { seqLen, batchSize });
    assert.equal(r.tokens, 102, `seqLen ${seqLen}: every token after the first is scored`);
    assert.ok(Math.abs(r.loss - mean) < 1e-5, `seqLen ${seqLen}, batch ${batchSize}: ${r.loss} vs ${mean}`);
    assert.ok(Math.abs(r.perplexity - Math.exp(mean)) < 1e-3 * Math.exp(mean));
  }
  const capped = await perplexity(model, tokens, { seqLen: 8, batchSize: 2, maxTokens: 20 });
  assert.equal(capped.tokens, 20);
  assert.ok(Math.abs(capped.loss - oracle.slice(0, 20).reduce((a, b) => a + b) / 20) < 1e-5);
  model.dispose();
});

test('a batch whose logits exceed maxLogits is split into passes that fit, with the same score', async () => {
  await useCpu();
  const model = new ToyBigram(toyConfig(16, 0), 4);
  const tokens = toyCorpus(103, 16, 9);
  const whole = await perplexity(model, tokens, { seqLen: 8, batchSize: 12 });
  const rowsSeen: number[] = [];
  const loss = model.loss.bind(model);
  model.loss = (x, y, o) => (rowsSeen.push(x.shape[0]), loss(x, y, o));
  // 3 windows of 8 tokens × 16 words fit in 400 logits: 12 full windows in passes of 3, then the 6-token tail.
  const split = await perplexity(model, tokens, { seqLen: 8, batchSize: 12, maxLogits: 400 });
  assert.deepEqual(rowsSeen, [3, 3, 3, 3, 1]);
  assert.equal(split.tokens, whole.tokens);
  assert.ok(Math.abs(split.loss - whole.loss) < 1e-6, `${split.loss} vs ${whole.loss}`);
  await assert.rejects(() => perplexity(model, tokens, { seqLen: 8, batchSize: 2, maxLogits: 100 }), /maxLogits 100 is below one window's 128 logits/);
  model.dispose();
});

test('a model with all-equal logits has perplexity equal to the vocabulary size', async () => {
  const model = new ToyBigram(toyConfig(16, 0), 4);
  for (const p of Object.values(model.params)) p.assign(tf.zerosLike(p));
  const r = await perplexity(model, toyCorpus(50, 16, 2), { seqLen: 7, batchSize: 2 });
  assert.ok(Math.abs(r.perplexity - 16) < 1e-3, `${r.perplexity}`);
  model.dispose();
});

test('bad windows and tokens outside the vocabulary are refused with the value named', async () => {
  const model = new ToyBigram(toyConfig(16, 0), 4);
  await assert.rejects(() => perplexity(model, toyCorpus(50, 16, 2), { seqLen: 33, batchSize: 1 }), /seqLen 33 .*maxSeqLen \(32\)/);
  await assert.rejects(() => perplexity(model, [3], { seqLen: 4, batchSize: 1 }), /at least 2 tokens; the split has 1/);
  await assert.rejects(() => perplexity(model, [1, 2, 16, 3], { seqLen: 4, batchSize: 1 }), /token 2 of the split is 16, outside the vocabulary \[0, 16\)/);
  model.dispose();
});
