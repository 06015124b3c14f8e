// Absorbed MLA's W_UK and W_UV made once per decode (lib/attention/weight-memo.ts, LayerCache.memo): reused while
// W_ukv is unchanged, made again after Variable.assign (new storage) and after an in-place update (same storage,
// its write count raised by lib/ops/adamw.ts), so a decode after a weight change equals the changed model's full
// forward; and freed with the decode state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { WeightMemo } from '../../lib/attention/weight-memo';
import { type InPlaceItem, inPlaceAdamW, registerInPlaceAdamW } from '../../lib/ops/adamw';
import { dataVersion } from '../../lib/ops/data-version';
import type { DecodeState, GPT } from '../../lib/model/gpt';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

const PROMPT = 6;

/** Prefill of the first PROMPT tokens and one step per token after, in absorbed mode; logits of the last step. */
function decodeTo(model: GPT, ids: number[][], end: number, state?: DecodeState) {
  let s = state ?? model.startDecode(ids.length, 'absorbed');
  let logits: tf.Tensor3D | undefined;
  for (let t = s.length; t < end; ) {
    const n = t === 0 ? PROMPT : 1;
    const r = model.decode(tf.tensor2d(ids.map((row) => row.slice(t, t + n)), undefined, 'int32'), s);
    logits?.dispose();
    logits = r.logits;
    s = r.state;
    t += n;
  }
  return { state: s, logits: logits! };
}

/** Row `pos` of the full forward's logits (B, 1, V). */
function fullAt(model: GPT, ids: number[][], pos: number): tf.Tensor {
  return tf.tidy(() => tf.slice(model.logits(tf.tensor2d(ids.map((r) => r.slice(0, pos + 1)), undefined, 'int32')), [0, pos, 0], [-1, 1, -1]));
}

test('the memo reuses a value while its sources keep their contents, and remakes it when they change', async () => {
  await useCpu();
  const w = tf.variable(tf.ones([2, 3]));
  const memo = new WeightMemo();
  const make = () => tf.mul(w, 2);
  const a = memo.get('twice', [w], make);
  assert.equal(memo.get('twice', [w], make), a, 'unchanged: the same tensor');
  assert.equal(memo.made, 1);
  w.assign(tf.fill([2, 3], 5)); // new storage
  const b = memo.get('twice', [w], make);
  assert.notEqual(b, a);
  assert.ok(a.isDisposed, 'the stale value is freed');
  assert.deepEqual(Array.from(b.dataSync()), new Array(6).fill(10));
  // An in-place write keeps the storage; its count changes.
  (tf.backend() as unknown as MathBackendCPU).data.get(w.dataId).values = new Float32Array(6).fill(7);
  assert.equal(memo.get('twice', [w], make), b, 'a write nobody counted is invisible: writers must count (data-version.ts)');
  const v0 = dataVersion(w);
  registerInPlaceAdamW('cpu', () => ({ update: () => {} })); // a write is counted by the registry, whatever the backend did
  try {
    inPlaceAdamW()!.update([{ p: w, m: w, v: w, g: w }], {} as never, w);
  } finally {
    registerInPlaceAdamW('cpu', null);
  }
  assert.equal(dataVersion(w), v0 + 3, 'p, m and v counted (here all w)');
  const c = memo.get('twice', [w], make);
  assert.notEqual(c, b);
  assert.deepEqual(Array.from(c.dataSync()), new Array(6).fill(14));
  memo.dispose();
  assert.ok(c.isDisposed);
  w.dispose();
});

test('absorbed decode: W_UK and W_UV made once per decode, not every step, and freed by endDecode', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const ids = tokenIds(2, PROMPT + 4, model.config.vocabSize);
  const { state, logits } = decodeTo(model, ids, PROMPT + 4);
  logits.dispose();
  const memos = state.caches.map((c) => c.memo!);
  assert.ok(memos.every((m) => m instanceof WeightMemo), 'every layer of an absorbed decode has a memo');
  assert.deepEqual(memos.map((m) => [m.size, m.made]), memos.map(() => [2, 2]), 'wUK and wUV, each made once over five steps');
  const held = memos.flatMap((m) => m.tensors());
  assert.ok(held.every((t) => !t.isDisposed));
  assert.ok(!('memo' in model.startDecode(1, 'latent').caches[0]), 'only the absorbed mode memoises');
  model.endDecode(state);
  assert.ok(held.every((t) => t.isDisposed), 'endDecode frees the memo');
  model.dispose();
});

/** The last layer's W_ukv changes mid-decode: its caches (latents) do not depend on it, so the next step must equal the changed model's forward. */
async function changedMidDecode(change: (model: GPT, name: string) => void) {
  await useCpu();
  const model = sharpModel('tiny-mla-rope');
  const ids = tokenIds(2, PROMPT + 3, model.config.vocabSize);
  const name = `blocks.${model.config.nLayers - 1}.attn.w_ukv`;
  const first = decodeTo(model, ids, PROMPT + 2);
  first.logits.dispose();
  const before = fullAt(model, ids, PROMPT + 2); // the unchanged model at the next position
  change(model, name);
  const next = decodeTo(model, ids, PROMPT + 3, first.state);
  const after = fullAt(model, ids, PROMPT + 2);
  assert.ok(maxAbsDiff(before, after) > 1e-2, 'the change moves the logits (else the test could not fail)');
  const diff = maxAbsDiff(next.logits, after);
  assert.ok(diff <= 1e-4, `the step after the change equals the changed model's forward: max |Δ| ${diff}`);
  const memo = next.state.caches[model.config.nLayers - 1].memo!;
  assert.equal(memo.made, 4, 'the changed layer made W_UK and W_UV again');
  assert.equal(next.state.caches[0].memo!.made, 2, 'an unchanged layer did not');
  model.endDecode(next.state);
  tf.dispose([before, after, next.logits]);
  model.dispose();
}

test('a weight assigned mid-decode (new storage) is never served stale from the memo', async () => {
  await changedMidDecode((model, name) => {
    const p = model.params[name] as tf.Variable;
    p.assign(tf.tidy(() => tf.mul(p, -1.5)));
  });
});

test('a weight updated in place mid-decode (same storage, counted write) is never served stale from the memo', async () => {
  await changedMidDecode((model, name) => {
    const p = model.params[name];
    const id = p.dataId;
    // An in-place update through the registry lib/train/adamw.ts uses: it rewrites p's own array.
    registerInPlaceAdamW('cpu', () => ({
      update(items: InPlaceItem[]) {
        const cpu = tf.backend() as unknown as MathBackendCPU;
        for (const it of items) {
          const v = cpu.data.get(it.p.dataId).values as Float32Array;
          for (let i = 0; i < v.length; i++) v[i] = -1.5 * v[i];
        }
      },
    }));
    try {
      const g = tf.zerosLike(p);
      inPlaceAdamW()!.update([{ p, m: g, v: g, g }], {} as never, g);
      g.dispose();
    } finally {
      registerInPlaceAdamW('cpu', null);
    }
    assert.equal(p.dataId, id, 'the same storage');
  });
});
