// lowRank: the Eckart–Young factorisation, and its SVD memo (a sweep over ranks decomposes each matrix once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dense, lowRank, svdCount } from '../../lib/convert/factorize';

function randomDense(rows: number, cols: number, seed: number) {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  return dense(rows, cols, Array.from({ length: rows * cols }, rnd));
}

function product(a: ReturnType<typeof dense>, b: ReturnType<typeof dense>) {
  const out = dense(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) for (let k = 0; k < a.cols; k++) for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j] += a.data[i * a.cols + k] * b.data[k * b.cols + j];
  return out;
}

test('lowRank at full rank reconstructs the matrix; a lower rank leaves the tail singular values as its error', () => {
  const m = randomDense(12, 20, 7);
  const full = lowRank(m, 12);
  const back = product(full.down, full.up);
  assert.ok(back.data.every((v, i) => Math.abs(v - m.data[i]) < 1e-10));
  const r4 = lowRank(m, 4);
  const err = product(r4.down, r4.up).data.reduce((a, v, i) => a + (v - m.data[i]) ** 2, 0);
  const tail = full.singular.slice(4).reduce((a, s) => a + s * s, 0);
  assert.ok(Math.abs(err - tail) < 1e-9 * tail, `Frobenius error² ${err} vs tail ${tail}`);
});

test('the same matrix at several ranks is decomposed once, a changed matrix again, and the results agree', () => {
  const m = randomDense(16, 24, 11);
  const before = svdCount();
  const ranks = [2, 4, 8, 16].map((r) => lowRank(m, r));
  assert.equal(svdCount() - before, 1, 'one SVD for four ranks of one matrix');
  // A copy with the same content is the same matrix; the rank-2 factors are the first columns of the rank-8 ones.
  lowRank(dense(16, 24, m.data), 3);
  assert.equal(svdCount() - before, 1);
  for (let r = 0; r < 16; r++) for (let k = 0; k < 2; k++) assert.equal(ranks[0].down.data[r * 2 + k], ranks[2].down.data[r * 8 + k]);
  const changed = dense(16, 24, m.data);
  changed.data[5] += 1e-3;
  lowRank(changed, 2);
  assert.equal(svdCount() - before, 2, 'a matrix that differs in one element is decomposed anew');
  assert.throws(() => lowRank(m, 17), /rank 17 must be an integer in 1\.\.16 for a 16×24 matrix/);
});
