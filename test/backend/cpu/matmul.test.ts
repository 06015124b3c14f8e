// Native BatchMatMul / _FusedMatMul against tfjs's JS kernels: every transpose flag, broadcast batch dims,
// bias layouts, each fused activation, and the fallbacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { assertClose, nativeSkipReason, randn, rng, runOriginal, useNative } from './helpers';

const skip = nativeSkipReason();
const FLAGS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/** Operand shapes for batch dims aBatch/bBatch and matrix sizes m, n, k under the flags. */
function operands(aBatch: number[], bBatch: number[], m: number, n: number, k: number, ta: boolean, tb: boolean, seed: number) {
  const a = randn([...aBatch, ...(ta ? [k, m] : [m, k])], seed);
  const b = randn([...bBatch, ...(tb ? [n, k] : [k, n])], seed + 1);
  return { a, b };
}

test('BatchMatMul: random shapes, every transpose flag, batch dims the JS kernel handles', { skip }, async () => {
  await useNative();
  const r = rng(11);
  const dim = () => 1 + Math.floor(r() * 40);
  // The JS kernel broadcasts correctly when batch shapes are equal or one side has a single batch.
  const batches: [number[], number[]][] = [[[], []], [[3], [3]], [[2, 3], [2, 3]], [[4], []], [[], [5]], [[2, 2], [1]], [[1], [3]]];
  let seed = 100;
  for (const [aB, bB] of batches) {
    for (const [ta, tb] of FLAGS) {
      const [m, n, k] = [dim(), dim(), dim()];
      const { a, b } = operands(aB, bB, m, n, k, ta, tb, seed++);
      const got = tf.matMul(a, b, ta, tb);
      const want = runOriginal('BatchMatMul', { a, b }, { transposeA: ta, transposeB: tb });
      assert.deepEqual(got.shape, want.shape);
      assertClose(got.dataSync(), want.values, 1e-4, `a${a.shape} b${b.shape} ta=${ta} tb=${tb}`);
      tf.dispose([a, b, got]);
    }
  }
});

test('one-row and one-column products (the sgemv path of batch-1 decoding): every flag, batched, with bias and relu', { skip }, async () => {
  await useNative();
  let seed = 500;
  // m = 1 (a decode step's row against a weight), n = 1, both, and m = n = 1 with k = 1; batch dims on either side.
  const sizes: [number, number, number, number[], number[]][] = [
    [1, 37, 29, [], []], [1, 300, 512, [], []], [23, 1, 31, [], []], [1, 1, 17, [], []], [1, 5, 1, [], []],
    [1, 9, 13, [3], [3]], [1, 9, 13, [4], []], [7, 1, 13, [2], [2]], [1, 6, 8, [], [5]],
  ];
  for (const [m, n, k, aB, bB] of sizes) {
    for (const [ta, tb] of FLAGS) {
      const { a, b } = operands(aB, bB, m, n, k, ta, tb, seed++);
      const got = tf.matMul(a, b, ta, tb);
      const want = runOriginal('BatchMatMul', { a, b }, { transposeA: ta, transposeB: tb });
      assert.deepEqual(got.shape, want.shape);
      assertClose(got.dataSync(), want.values, 1e-4, `m${m} n${n} k${k} a${a.shape} b${b.shape} ta=${ta} tb=${tb}`);
      // The bias seeds the output and the product adds into it (beta = 1): the sgemv path must add, not overwrite.
      const bias = randn([n], seed++);
      const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
      const ref = tf.relu(tf.add(got, bias));
      assertClose(fused.dataSync(), ref.dataSync(), 1e-4, `fused m${m} n${n} k${k} ta=${ta} tb=${tb}`);
      tf.dispose([a, b, got, bias, fused, ref]);
    }
  }
});

test('BatchMatMul: batch dims that broadcast both ways equal the product of explicitly tiled operands', { skip }, async () => {
  await useNative();
  let seed = 300;
  for (const [ta, tb] of FLAGS) {
    // a (2, 1, ·, ·) × b (1, 3, ·, ·) → (2, 3, ·, ·). tfjs's JS kernel gets this case wrong (it indexes
    // batches modulo their count), so the reference tiles both operands to (2, 3) first.
    const { a, b } = operands([2, 1], [1, 3], 5, 4, 6, ta, tb, seed++);
    const got = tf.matMul(a, b, ta, tb);
    assert.deepEqual(got.shape, [2, 3, 5, 4]);
    const at = tf.tile(a, [1, 3, 1, 1]);
    const bt = tf.tile(b, [2, 1, 1, 1]);
    const want = runOriginal('BatchMatMul', { a: at, b: bt }, { transposeA: ta, transposeB: tb });
    assertClose(got.dataSync(), want.values, 1e-4, `ta=${ta} tb=${tb}`);
    tf.dispose([a, b, got, at, bt]);
  }
});

test('BatchMatMul: empty and degenerate sizes (k = 0 gives zeros, m = 0 gives an empty result)', { skip }, async () => {
  await useNative();
  const z = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]));
  assert.deepEqual(z.shape, [3, 4]);
  assert.deepEqual(Array.from(z.dataSync()), new Array(12).fill(0));
  const e = tf.matMul(tf.zeros([0, 5]), randn([5, 2], 1));
  assert.deepEqual(e.shape, [0, 2]);
  const v = tf.matMul(tf.ones([1, 1]), tf.fill([1, 1], 3));
  assert.equal(v.dataSync()[0], 3);
});

test('BatchMatMul: int32 operands fall back to the JS kernel and stay exact', { skip }, async () => {
  await useNative();
  const a = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
  const b = tf.tensor2d([[5, 6], [7, 8]], [2, 2], 'int32');
  assert.deepEqual(tf.matMul(a, b).arraySync(), [[19, 22], [43, 50]]);
});

test('BatchMatMul: mismatched inner dims still raise an error', { skip }, async () => {
  await useNative();
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])), /inner shapes|must match/);
});

test('_FusedMatMul: bias layouts and every fused activation against the JS kernel', { skip }, async () => {
  await useNative();
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const;
  let seed = 500;
  for (const [ta, tb] of FLAGS) {
    for (const activation of activations) {
      for (const biasShape of [null, [7], [1], [1, 7], [5, 1]]) {
        const { a, b } = operands([2], [2], 5, 7, 9, ta, tb, seed++);
        const a3 = tf.mul(a, 3); // values well past relu6's clip and deep into elu's negative side
        const bias = biasShape ? randn(biasShape, seed++) : undefined;
        const prelu = activation === 'prelu' ? randn([7], seed++) : undefined;
        const got = tf.fused.matMul({ a: a3, b, transposeA: ta, transposeB: tb, bias, activation, preluActivationWeights: prelu, leakyreluAlpha: 0.3 });
        const inputs: Record<string, tf.Tensor> = { a: a3, b };
        if (bias) inputs.bias = bias;
        if (prelu) inputs.preluActivationWeights = prelu;
        const want = runOriginal('_FusedMatMul', inputs, { transposeA: ta, transposeB: tb, activation, leakyreluAlpha: 0.3 });
        assert.deepEqual(got.shape, want.shape);
        assertClose(got.dataSync(), want.values, 1e-4, `${activation} bias ${biasShape} ta=${ta} tb=${tb}`);
        tf.dispose([a, b, a3, got, ...(bias ? [bias] : []), ...(prelu ? [prelu] : [])]);
      }
    }
  }
});
