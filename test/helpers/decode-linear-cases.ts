// What the decode linear's tests share (test/backend/webgpu/decode-linear.test.ts, decode-step.test.ts): a case's
// shape, its random inputs (rows with their own means, so LayerNorm has something to remove), and the closeness check.
// Shape legend: rows (B, T) of X floats, K inputs from column `offset`, n the widths of the weights side by side.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { DecodeLinearOptions } from '../../lib/ops/decode-linear';
import { maxAbsDiff } from './models';

export interface LinearCase {
  name: string;
  rows: number[];
  X: number;
  K: number;
  n: number[];
  offset?: number;
  norm?: boolean;
  bias?: boolean;
  relu?: boolean;
  residual?: boolean;
}

const rand = (shape: number[], seed: number, mean = 0) => tf.randomNormal(shape, mean, 1, 'float32', seed);

/** The case's x (rows, X), weights (K, n_i) and options, from fixed seeds. */
export function linearInputs(c: LinearCase): { x: tf.Tensor; ws: tf.Tensor2D[]; o: DecodeLinearOptions } {
  const N = c.n.reduce((a, b) => a + b, 0);
  const x = tf.add(rand([...c.rows, c.X], 1), tf.randomUniform([...c.rows, 1], -2, 2, 'float32', 9));
  const ws = c.n.map((n, i) => tf.mul(rand([c.K, n], 10 + i), 0.2) as tf.Tensor2D);
  const o: DecodeLinearOptions = {
    offset: c.offset,
    norm: c.norm ? { gamma: rand([c.K], 3, 1) as tf.Tensor1D, beta: rand([c.K], 4) as tf.Tensor1D } : undefined,
    bias: c.bias ? (rand([N], 5) as tf.Tensor1D) : undefined,
    relu: c.relu,
    residual: c.residual ? rand([...c.rows, N], 6) : undefined,
  };
  return { x, ws, o };
}

/** got equals want within tol × max(1, max |want|), every element written (an unwritten output reads NaN). */
export function assertClose(got: tf.Tensor, want: tf.Tensor, what: string, tol = 2e-5): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.ok(!got.dataSync().some(Number.isNaN), `${what}: an output left unwritten (NaN)`);
  const scale = Math.max(1, tf.max(tf.abs(want)).dataSync()[0]);
  const d = maxAbsDiff(got, want);
  assert.ok(d <= tol * scale, `${what}: max difference ${d} (scale ${scale})`);
}
