// Preallocated caches written in place (lib/attention/cache-utils.ts, through the cpu kernel of lib/ops/cache-write.ts
// that lib/backend registers) and decoding past a preset's maxSeqLen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { CACHE_GRANULE } from '../../lib/attention/cache-utils';
import { cacheModesFor, CacheMode } from '../../lib/costs/cache-modes';
import { startQuantizedDecode } from '../../lib/generate/cache-quant';
import { GPT, DecodeState } from '../../lib/model/gpt';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';
import { registerCpuOpKernels } from '../../lib/backend';
import { hasCacheWriteKernel } from '../../lib/ops';

registerCpuOpKernels();

const PROMPT = CACHE_GRANULE - 3; // the steps cross a granule boundary, so a buffer grows once
const STEPS = 8;

/** Logits (B, T, V) of a prefill of `prompt` tokens then one token at a time, and the states seen. */
function stepwise(model: GPT, ids: number[][], prompt: number, start: () => DecodeState) {
  let state = start();
  const pieces: tf.Tensor[] = [];
  const states: DecodeState[] = [];
  const pre = model.decode(tf.tensor2d(ids.map((r) => r.slice(0, prompt)), undefined, 'int32'), state);
  state = pre.state;
  pieces.push(pre.logits);
  states.push(state);
  for (let t = prompt; t < ids[0].length; t++) {
    const s = model.decode(tf.tensor2d(ids.map((r) => [r[t]]), undefined, 'int32'), state);
    state = s.state;
    pieces.push(s.logits);
    states.push(state);
  }
  const logits = tf.concat(pieces, 1);
  tf.dispose(pieces);
  return { logits, states, end: () => model.endDecode(state) };
}

for (const preset of ['tiny-mha-rope', 'tiny-mla-rope', 'tiny-mha-decoupled-rope', 'tiny-gqa-rope']) {
  test(`${preset}: caches are preallocated buffers written in place, and decode still equals the full forward`, async () => {
    await useCpu();
    assert.ok(hasCacheWriteKernel(), 'the cpu cache-write kernel is registered');
    const model = sharpModel(preset, { maxSeqLen: 128 });
    const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
    for (const mode of cacheModesFor(model.config) as CacheMode[]) {
      const run = stepwise(model, ids, PROMPT, () => model.startDecode(2, mode));
      assert.ok(maxAbsDiff(run.logits, full) <= 1e-4, `${mode}: max |cached - full| = ${maxAbsDiff(run.logits, full)}`);
      // After the prefill the buffer has room for the next steps: the same storage is written, not replaced (the
      // write returns a new handle on it, as a reshape does).
      const [first, second] = run.states;
      for (const [name, t] of Object.entries(second.caches[0].tensors)) {
        assert.equal(t.dataId, first.caches[0].tensors[name].dataId, `${mode}: ${name} was replaced, not written in place`);
        assert.equal(t.shape[2], CACHE_GRANULE, `${mode}: ${name} capacity`);
      }
      const last = run.states[run.states.length - 1];
      for (const t of Object.values(last.caches[0].tensors)) assert.equal(t.shape[2], 2 * CACHE_GRANULE, `${mode}: grown capacity`);
      assert.ok(!Object.values(last.caches[0].tensors).some((t) => t.isDisposed));
      run.end();
      run.logits.dispose();
    }
    full.dispose();
    model.dispose();
  });
}

test('quantized latent cache: written in place token by token equals one quantized prefill of the whole sequence', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope', { maxSeqLen: 128 });
  const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
  for (const mode of ['latent', 'absorbed'] as CacheMode[]) {
    for (const format of ['int8', 'int4', 'fp8'] as const) {
      const quant = { format, groupSize: 16 };
      const once = stepwise(model, ids, ids[0].length, () => startQuantizedDecode(model, 2, mode, quant)); // each token quantized alone either way
      const steps = stepwise(model, ids, PROMPT, () => startQuantizedDecode(model, 2, mode, quant));
      const diff = maxAbsDiff(steps.logits, once.logits);
      assert.ok(diff <= 1e-4, `${mode} ${format}: max |stepwise - prefill| = ${diff}`);
      const last = steps.states[steps.states.length - 1].caches[0];
      assert.deepEqual(Object.keys(last.tensors).sort(), ['kRope', 'latent']); // dequantized at the write
      once.end();
      steps.end();
      tf.dispose([once.logits, steps.logits]);
    }
  }
  model.dispose();
});

for (const preset of ['tiny-mha-rope', 'tiny-mla-rope', 'tiny-mha-decoupled-rope']) {
  test(`${preset}: decoding past the preset's maxSeqLen equals the full forward of the model configured longer`, async () => {
    await useCpu();
    const short = sharpModel(preset);
    const T0 = short.config.maxSeqLen; // 64 for tiny-*
    const long = new GPT({ ...short.config, maxSeqLen: 2 * T0 }, short.params); // the same weights: RoPE has no position table
    const ids = tokenIds(1, T0 + 24, long.config.vocabSize);
    assert.throws(() => short.logits(tf.tensor2d(ids, undefined, 'int32')), /beyond maxSeqLen/);
    const full = long.logits(tf.tensor2d(ids, undefined, 'int32'));
    for (const mode of cacheModesFor(long.config) as CacheMode[]) {
      const run = stepwise(long, ids, T0 - 4, () => long.startDecode(1, mode));
      const diff = maxAbsDiff(run.logits, full);
      assert.ok(diff <= 1e-4, `${mode}: max |cached - full| = ${diff} past position ${T0}`);
      run.end();
      run.logits.dispose();
    }
    full.dispose();
    long.dispose();
  });
}

test('startDecode reserve: every buffer holds the whole decode from the first write, never grows, and decode still equals the full forward', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope', { maxSeqLen: 256 });
  const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
  const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
  const reserve = 2 * CACHE_GRANULE + 5; // past the steps' last position, not a whole granule
  for (const mode of cacheModesFor(model.config) as CacheMode[]) {
    const run = stepwise(model, ids, PROMPT, () => model.startDecode(2, mode, { reserve }));
    assert.ok(maxAbsDiff(run.logits, full) <= 1e-4, `${mode}: max |cached - full| = ${maxAbsDiff(run.logits, full)}`);
    const [first] = run.states;
    const last = run.states[run.states.length - 1];
    for (const [name, t] of Object.entries(last.caches[0].tensors)) {
      assert.equal(t.shape[2], 3 * CACHE_GRANULE, `${mode}: ${name} holds the reserve, in whole granules`);
      assert.equal(t.dataId, first.caches[0].tensors[name].dataId, `${mode}: ${name} grew (new storage) despite the reserve`);
    }
    assert.equal(last.caches[0].reserve, reserve, `${mode}: the reserve carries over from state to state`);
    run.end();
    run.logits.dispose();
  }
  assert.throws(() => model.startDecode(2, 'latent', { reserve: 1.5 }), /startDecode: reserve must be a whole number of tokens/);
  full.dispose();
  model.dispose();
});
