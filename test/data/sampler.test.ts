// Packing: chunk layout, targets shifted by one, seeded epoch shuffles, exact restore from state, and the
// evaluation pass covering every target once. Tokens are 0, 1, 2, … so every id says where it came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../lib/data/errors';
import { BatchSampler, chunkCount, sequentialBatches } from '../../lib/data/sampler';

const arange = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

test('chunks: inputs are T consecutive tokens starting at a multiple of T, targets the next T', () => {
  const T = 8;
  const B = 3;
  const tokens = arange(101);
  const s = new BatchSampler(tokens, { seqLen: T, batchSize: B, seed: 1 });
  assert.equal(s.numChunks, chunkCount(101, T));
  assert.equal(s.numChunks, 12); // chunk 11 ends at token 96; chunk 12 would need token 104
  assert.equal(s.batchesPerEpoch, 4);
  const b = s.next();
  assert.equal(b.inputs.length, B * T);
  for (let r = 0; r < B; r++) {
    const row = b.inputs.subarray(r * T, (r + 1) * T);
    assert.equal(row[0] % T, 0, 'a chunk starts at a multiple of T');
    for (let t = 0; t < T; t++) {
      assert.equal(row[t], row[0] + t);
      assert.equal(b.targets[r * T + t], row[t] + 1, 'target = next token');
    }
  }
});

test('one epoch visits distinct chunks; epochs are shuffled differently; same seed, same batches', () => {
  const tokens = arange(20 * 4 + 1);
  const opts = { seqLen: 4, batchSize: 5, seed: 99 };
  const starts = (s: BatchSampler, batches: number) => {
    const out: number[] = [];
    for (let i = 0; i < batches; i++) {
      const b = s.next();
      for (let r = 0; r < b.batchSize; r++) out.push(b.inputs[r * b.seqLen]);
    }
    return out;
  };
  const a = new BatchSampler(tokens, opts);
  const e0 = starts(a, a.batchesPerEpoch);
  assert.equal(new Set(e0).size, 20, 'every chunk once in epoch 0');
  assert.deepEqual(a.state, { epoch: 1, index: 0, seed: 99 });
  const e1 = starts(a, a.batchesPerEpoch);
  assert.deepEqual([...e1].sort((x, y) => x - y), [...e0].sort((x, y) => x - y));
  assert.notDeepEqual(e1, e0, 'epoch 1 has its own order');
  assert.notDeepEqual(e0, [...e0].sort((x, y) => x - y), 'the order is shuffled');

  const b = new BatchSampler(tokens, opts);
  assert.deepEqual(starts(b, 8), [...e0, ...e1]);
  const c = new BatchSampler(tokens, { ...opts, seed: 100 });
  assert.notDeepEqual(starts(c, 4), e0);
});

test('restore(state) continues exactly as the original sampler, across epoch boundaries', () => {
  const tokens = arange(1000);
  const opts = { seqLen: 16, batchSize: 4, seed: 7 };
  for (const k of [0, 3, 15, 17]) {
    const a = new BatchSampler(tokens, opts);
    for (let i = 0; i < k; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state));
    const restored = BatchSampler.restore(tokens, { seqLen: 16, batchSize: 4 }, saved);
    for (let i = 0; i < 20; i++) {
      const x = a.next();
      const y = restored.next();
      assert.deepEqual(y.inputs, x.inputs, `after ${k} + ${i} batches`);
      assert.deepEqual(y.targets, x.targets);
    }
    assert.deepEqual(restored.state, a.state);
  }
  assert.throws(() => BatchSampler.restore(tokens, { ...opts, seed: 8 }, { epoch: 0, index: 0, seed: 7 }), /seed 7 but the options say 8/);
  assert.throws(() => BatchSampler.restore(tokens, opts, { epoch: 0, index: 999, seed: 7 }), DataError);
});

test('too little data for one batch is a DataError naming the sizes', () => {
  assert.throws(() => new BatchSampler(arange(10), { seqLen: 8, batchSize: 2, seed: 0 }), (e: unknown) => e instanceof DataError && /1 chunks of seqLen 8/.test(e.message));
  assert.throws(() => new BatchSampler(arange(10), { seqLen: 0, batchSize: 2, seed: 0 }), /seqLen must be a positive integer/);
});

test('sequentialBatches: in order, every target exactly once, padding masked', () => {
  for (const [n, T, B] of [[101, 8, 3], [97, 8, 4], [9, 8, 2], [2, 5, 1]]) {
    const tokens = arange(n);
    const targets: number[] = [];
    let counted = 0;
    let lastStart = -1;
    for (const b of sequentialBatches(tokens, { seqLen: T, batchSize: B })) {
      assert.ok(b.batchSize <= B);
      assert.equal(b.inputs.length, b.batchSize * T);
      for (let i = 0; i < b.batchSize * T; i++) {
        if (b.mask[i] === 1) {
          targets.push(b.targets[i]);
          assert.equal(b.targets[i], b.inputs[i] + 1);
        } else assert.equal(b.mask[i], 0);
      }
      assert.ok(b.inputs[0] > lastStart, 'batches come in order');
      lastStart = b.inputs[0];
      counted += b.count;
    }
    assert.equal(counted, n - 1);
    assert.deepEqual(targets, Array.from({ length: n - 1 }, (_, i) => i + 1), `n=${n} T=${T} B=${B}`);
  }
});
