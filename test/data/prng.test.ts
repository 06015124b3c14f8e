// The seeded PRNG the sampler and trainer share: reproducible, restorable from its state, unbiased ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, deriveSeed, permutation } from '../../lib/data/prng';

test('same seed gives the same sequence; another seed a different one', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.nextUint32());
  const sb = Array.from({ length: 20 }, () => b.nextUint32());
  const sc = Array.from({ length: 20 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('a generator rebuilt from its state continues the same sequence', () => {
  const a = new Rng(7);
  for (let i = 0; i < 13; i++) a.next();
  const b = new Rng(a.state);
  assert.deepEqual(Array.from({ length: 10 }, () => b.next()), Array.from({ length: 10 }, () => a.next()));
});

test('next() lies in [0, 1) and int(n) in [0, n), covering every value', () => {
  const r = new Rng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    seen.add(k);
  }
  assert.equal(seen.size, 7);
  assert.throws(() => r.int(0), /integer n/);
});

test('permutation is a permutation and depends on the seed', () => {
  const p = permutation(100, new Rng(5));
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...permutation(100, new Rng(5))], [...p]);
  assert.notDeepEqual([...permutation(100, new Rng(6))], [...p]);
});

test('deriveSeed separates parts and epochs', () => {
  const seeds = new Set([0, 1, 2, 3].map((e) => deriveSeed(9, e)));
  assert.equal(seeds.size, 4);
  assert.equal(deriveSeed(9, 1), deriveSeed(9, 1));
  assert.notEqual(deriveSeed(9, 1, 2), deriveSeed(9, 2, 1));
  assert.notEqual(deriveSeed(9), deriveSeed(9, 0));
});
