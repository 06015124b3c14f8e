// RoPE scores depend only on relative position, and the frequencies follow the original's convention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { applyRope, ropeFrequencies, ropeTables } from '../../lib/attention/rope';
import { useCpu } from '../helpers/models';

test('q·k after RoPE depends only on the distance between positions', async () => {
  await useCpu();
  const tables = ropeTables(8, 16, 10000, 64);
  const q = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', 1);
  const k = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', 2);
  const score = (pq: number, pk: number) =>
    tf.sum(tf.mul(applyRope(q, tables, pq), applyRope(k, tables, pk))).dataSync()[0];
  const base = score(3, 1);
  for (const shift of [1, 10, 40]) {
    assert.ok(Math.abs(score(3 + shift, 1 + shift) - base) < 1e-4, `shift ${shift}`);
  }
  assert.ok(Math.abs(score(5, 1) - base) > 1e-3, 'different distances must give different scores');
});

test('rotation preserves norms and position 0 is the identity', async () => {
  await useCpu();
  const tables = ropeTables(16, 32, 10000, 32);
  const x = tf.randomNormal([2, 3, 5, 16], 0, 1, 'float32', 3);
  const r = applyRope(x, tables, 7);
  const n0 = tf.norm(x).dataSync()[0], n1 = tf.norm(r).dataSync()[0];
  assert.ok(Math.abs(n0 - n1) < 1e-3);
  const first = tf.slice(x, [0, 0, 0, 0], [2, 3, 1, 16]);
  assert.ok(tf.max(tf.abs(tf.sub(applyRope(first, tables, 0), first))).dataSync()[0] < 1e-7);
});

test('a RoPE sub-head uses the first r/2 frequencies of the full head dim', () => {
  const full = ropeFrequencies(32, 32, 10000);
  const sub = ropeFrequencies(16, 32, 10000);
  assert.equal(sub.length, 8);
  for (let i = 0; i < 8; i++) assert.equal(sub[i], full[i]);
  assert.equal(full[1], Math.pow(10000, -2 / 32));
});

test('positions beyond maxSeqLen are refused', async () => {
  await useCpu();
  const tables = ropeTables(4, 4, 10000, 8);
  assert.throws(() => applyRope(tf.zeros([1, 1, 2, 4]), tables, 7), /beyond maxSeqLen 8/);
});
