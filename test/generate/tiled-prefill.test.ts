// A tiled prefill (lib/generate/prefill.ts tiledPrefill, the decode bench's --prefill tiled) leaves the cache a
// decode timing needs: the seed's rows repeated to the context, in the buffers a real prefill leaves, so the next
// step runs the same kernels. With the cpu backend's in-place cache writes registered, as the bench runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerCpuOpKernels } from '../../lib/backend';
import { cacheModesFor, CacheMode } from '../../lib/costs/cache-modes';
import { prefill, tiledPrefill } from '../../lib/generate/prefill';
import type { GPT } from '../../lib/model/gpt';
import { hasCacheWriteKernel } from '../../lib/ops/cache-write';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

registerCpuOpKernels();

/** The kernels one decode step runs from `state` (tf.profile), and the state after it. */
async function stepKernels(model: GPT, state: ReturnType<GPT['startDecode']>) {
  const B = state.batch;
  const x = tf.tensor2d(Array.from({ length: B }, () => [5]), [B, 1], 'int32');
  let next = state;
  let logits: tf.Tensor | undefined;
  const profile = await tf.profile(() => {
    const r = model.decode(x, state);
    next = r.state;
    logits = r.logits;
  });
  x.dispose();
  const finite = (logits!.dataSync() as Float32Array).every(Number.isFinite);
  logits!.dispose();
  return { kernels: profile.kernels.map((k) => k.name), state: next, finite };
}

for (const preset of ['tiny-mla-rope', 'tiny-mha-rope']) {
  test(`${preset}: a tiled prefill repeats the seed's cached rows to the context, in a real prefill's buffers, and the next step runs the same kernels`, async () => {
    await useCpu();
    const model = sharpModel(preset, { maxSeqLen: 128 });
    const B = 2, T = 70, seed = 4; // 70 tokens: past one 64-row granule where the backend writes in place
    const ids = tokenIds(B, T, model.config.vocabSize, 3);
    assert.ok(hasCacheWriteKernel(), 'the cpu backend writes caches in place: the padded buffers are what this test checks');
    for (const mode of cacheModesFor(model.config)) {
      const prompt = tf.tensor2d(ids, [B, T], 'int32');
      const real = prefill(model, prompt, model.startDecode(B, mode));
      const tiled = tiledPrefill(model, prompt, model.startDecode(B, mode), seed);
      const seedOnly = prefill(model, tf.slice(prompt, [0, 0], [B, seed]) as tf.Tensor2D, model.startDecode(B, mode));
      prompt.dispose();
      assert.equal(tiled.state.length, T, mode);
      for (let l = 0; l < real.state.caches.length; l++) {
        const [r, t, s0] = [real.state.caches[l], tiled.state.caches[l], seedOnly.state.caches[l]];
        assert.equal(t.length, T);
        assert.deepEqual(Object.keys(t.tensors).sort(), Object.keys(r.tensors).sort(), `${mode} layer ${l}: the same cached tensors`);
        for (const [k, buf] of Object.entries(t.tensors)) {
          assert.deepEqual(buf.shape, r.tensors[k].shape, `${mode} layer ${l} ${k}: a real prefill's buffer shape`);
          assert.equal(buf.shape[2], hasCacheWriteKernel() ? 128 : T, `${mode} ${k}: two 64-row granules where written in place`);
          const got = buf.arraySync() as number[][][][];
          const want = s0.tensors[k].arraySync() as number[][][][];
          for (let b = 0; b < B; b++) {
            for (let h = 0; h < got[b].length; h++) {
              for (let i = 0; i < got[b][h].length; i++) {
                const row = got[b][h][i];
                if (i < T) assert.deepEqual(row, want[b][h][i % seed], `${mode} ${k} row ${i} = seed row ${i % seed}`);
                else assert.ok(row.every((v) => v === 0), `${mode} ${k} row ${i} past the context is zero`);
              }
            }
          }
        }
      }
      const a = await stepKernels(model, real.state);
      const b = await stepKernels(model, tiled.state);
      assert.deepEqual(b.kernels, a.kernels, `${mode}: the step after a tiled prefill runs a real one's kernels`);
      assert.ok(a.finite && b.finite, mode);
      assert.equal(b.state.length, T + 1);
      tf.dispose([real.logits, tiled.logits, seedOnly.logits]);
      for (const st of [a.state, b.state, seedOnly.state]) model.endDecode(st);
    }
    model.dispose();
  });
}

test('a tiled prefill up to its seed, or without a cache, is the real one; a started state or a bad seed is refused', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const ids = tokenIds(1, 6, model.config.vocabSize, 5);
  const prompt = tf.tensor2d(ids, [1, 6], 'int32');
  for (const mode of ['none', 'absorbed'] as CacheMode[]) {
    const r = prefill(model, prompt, model.startDecode(1, mode));
    const t = tiledPrefill(model, prompt, model.startDecode(1, mode), mode === 'none' ? 2 : 6);
    assert.ok(maxAbsDiff(r.logits, t.logits) === 0, mode);
    assert.equal(t.state.length, 6);
    tf.dispose([r.logits, t.logits]);
    model.endDecode(r.state);
    model.endDecode(t.state);
  }
  assert.throws(() => tiledPrefill(model, prompt, model.startDecode(1, 'latent'), 0), /seedTokens must be a positive integer, got 0/);
  const started = prefill(model, tf.slice(prompt, [0, 0], [1, 1]) as tf.Tensor2D, model.startDecode(1, 'latent'));
  assert.throws(() => tiledPrefill(model, prompt, started.state, 2), /already holds 1 tokens; a tiled prefill starts from model.startDecode/);
  started.logits.dispose();
  model.endDecode(started.state);
  prompt.dispose();
  model.dispose();
});

test("a tiled prefill into a decode started with a reserve leaves buffers of the reserve's rows, the seed's rows repeated to the context", async () => {
  await useCpu();
  const model = sharpModel('tiny-mha-rope', { maxSeqLen: 256 });
  const B = 2, T = 70, seed = 4, reserve = 200;
  const prompt = tf.tensor2d(tokenIds(B, T, model.config.vocabSize, 3), [B, T], 'int32');
  const tiled = tiledPrefill(model, prompt, model.startDecode(B, 'kv', { reserve }), seed);
  prompt.dispose();
  for (const buf of Object.values(tiled.state.caches[0].tensors)) {
    assert.equal(buf.shape[2], 256, 'the reserve (200 rows) in whole 64-row granules');
    const rows = (buf.arraySync() as number[][][][])[1][0];
    assert.deepEqual(rows[T - 1], rows[(T - 1) % seed]);
    assert.ok(rows.slice(T).every((r) => r.every((v) => v === 0)), 'zeros past the context');
  }
  assert.ok(tiled.state.caches.every((c) => c.reserve === reserve), 'the reserve carries over to the tiled caches');
  const step = await stepKernels(model, tiled.state);
  assert.ok(step.finite);
  assert.equal(Object.values(step.state.caches[0].tensors)[0].shape[2], 256, 'the next step writes in place');
  tiled.logits.dispose();
  model.endDecode(step.state);
  model.dispose();
});
