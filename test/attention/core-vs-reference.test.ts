// The fast tensor attention against the slow loop-based oracle: MHA, GQA, MQA, shared keys, an offset start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { causalAttention } from '../../lib/attention/core';
import { referenceAttention } from '../../lib/attention/reference';
import { useCpu } from '../helpers/models';

function rand(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}
const arr = (t: tf.Tensor) => t.arraySync() as number[][][][];

for (const [H, Hk, label] of [
  [4, 4, 'MHA'],
  [4, 2, 'GQA'],
  [4, 1, 'MQA'],
] as const) {
  test(`causalAttention equals the loop reference (${label}, cached offset)`, async () => {
    await useCpu();
    const B = 2, Tq = 3, Tk = 7, D = 5, qStart = 4;
    const q = rand([B, H, Tq, D], 1), k = rand([B, Hk, Tk, D], 2), v = rand([B, Hk, Tk, D], 3);
    const G = H / Hk;
    const qg = tf.reshape(q, [B, Hk, G * Tq, D]) as tf.Tensor4D;
    const fast = tf.reshape(causalAttention([{ q: qg, k }], v, { qStart, scale: 0.4, groups: G }), [B, H, Tq, D]);
    const ref = referenceAttention(arr(q), arr(k), arr(v), qStart, 0.4);
    const diff = tf.max(tf.abs(tf.sub(fast, tf.tensor(ref)))).dataSync()[0];
    assert.ok(diff < 1e-5, `max diff ${diff}`);
  });
}

test('a key shared by all heads (B, 1, T, d) gives what a per-head copy gives (split score terms)', async () => {
  await useCpu();
  const B = 2, H = 3, T = 6, N = 4, R = 2;
  const qn = rand([B, H, T, N], 4), kn = rand([B, H, T, N], 5), qr = rand([B, H, T, R], 6), kr = rand([B, 1, T, R], 7);
  const v = rand([B, H, T, 3], 8);
  const split = causalAttention([{ q: qn, k: kn }, { q: qr, k: kr }], v, { qStart: 0, scale: 0.5 });
  // Reference: concatenate per head, with the shared key copied into every head.
  const q = tf.concat([qn, qr], -1), k = tf.concat([kn, tf.tile(kr, [1, H, 1, 1])], -1);
  const ref = referenceAttention(arr(q), arr(k), arr(v), 0, 0.5);
  const diff = tf.max(tf.abs(tf.sub(split, tf.tensor(ref)))).dataSync()[0];
  assert.ok(diff < 1e-5, `max diff ${diff}`);
});

test('the first query only sees the first key (causal mask)', async () => {
  await useCpu();
  const q = rand([1, 1, 4, 3], 9), k = rand([1, 1, 4, 3], 10), v = rand([1, 1, 4, 2], 11);
  const o = causalAttention([{ q, k }], v, { qStart: 0, scale: 1 }).arraySync();
  const v0 = (v.arraySync() as number[][][][])[0][0][0];
  assert.ok(Math.abs(o[0][0][0][0] - v0[0]) < 1e-6 && Math.abs(o[0][0][0][1] - v0[1]) < 1e-6);
});
