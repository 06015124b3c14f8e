// The add-one unigram baseline against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unigramPerplexity } from '../../lib/data/baseline';

test('uniform counts give perplexity = vocabulary size', () => {
  const V = 10;
  const train = Array.from({ length: 50 }, (_, i) => i % V);
  assert.ok(Math.abs(unigramPerplexity(train, [3, 7, 1], V) - V) < 1e-9);
});

test('a hand-computed case, and unseen ids get the add-one mass', () => {
  // counts: id0 3, id1 1, id2 0; N = 4, V = 3 → p = 4/7, 2/7, 1/7.
  const train = [0, 0, 0, 1];
  const expected = Math.exp(-(Math.log(4 / 7) + Math.log(1 / 7)) / 2);
  assert.ok(Math.abs(unigramPerplexity(train, [0, 2], 3) - expected) < 1e-9);
  assert.ok(unigramPerplexity(train, [2], 3) > unigramPerplexity(train, [0], 3));
  assert.throws(() => unigramPerplexity(train, [3], 3), /outside 0…2/);
  assert.throws(() => unigramPerplexity(train, [], 3), /at least one/);
});
