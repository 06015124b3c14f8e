// The other native kernels (element-wise, reductions, softmax, transpose, gather, segment sum) against
// the JS kernels they replaced, on random shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { UNARY_CODES, BINARY_CODES } from '../../../lib/backend/cpu/kernels/elementwise';
import { REDUCE_CODES } from '../../../lib/backend/cpu/kernels/reduce';
import { assertClose, nativeSkipReason, randn, rng, runOriginal, runOriginalMany, useNative } from './helpers';

const skip = nativeSkipReason();

/** Inputs in each op's domain: positive for log/sqrt/rsqrt/pow bases, otherwise standard normal with a few NaNs. */
function unaryInput(kernel: string, shape: number[], seed: number): tf.Tensor {
  const x = tf.mul(randn(shape, seed), 4);
  if (['Log', 'Sqrt', 'Rsqrt', 'Reciprocal'].includes(kernel)) return tf.add(tf.abs(x), 0.01);
  return x;
}

test('unary ops match the JS kernels (NaN passes through)', { skip }, async () => {
  await useNative();
  let seed = 1;
  for (const kernel of Object.keys(UNARY_CODES)) {
    for (const shape of [[1], [7, 13], [2, 3, 4, 5], [70000]]) {
      const base = unaryInput(kernel, shape, seed++);
      // A NaN in the first slot checks NaN handling (Log/Sqrt of NaN are NaN in both anyway).
      const vals = Float32Array.from(base.dataSync());
      vals[0] = NaN;
      const x = tf.tensor(vals, shape);
      const attrs: tf.NamedAttrMap = kernel === 'Step' ? { alpha: 0.25 } : {};
      const got = tf.engine().runKernel(kernel, { x }, attrs) as tf.Tensor;
      const want = runOriginal(kernel, { x }, attrs);
      assert.deepEqual(got.shape, want.shape, kernel);
      assertClose(got.dataSync(), want.values, 1e-4, `${kernel} ${shape}`);
      tf.dispose([base, x, got]);
    }
  }
});

/** Shape pairs covering same shape, scalar, trailing vectors, middle and leading broadcasts, both sides. */
const BROADCASTS: [number[], number[]][] = [
  [[5, 6], [5, 6]],
  [[5, 6], []],
  [[], [4, 3]],
  [[2, 3, 4], [4]],
  [[2, 3, 4], [3, 1]],
  [[2, 1, 4], [1, 3, 1]],
  [[6, 1], [1, 7]],
  [[2, 3, 4, 5], [2, 1, 4, 1]],
  [[1, 1, 9], [3, 2, 9]],
  [[300, 257], [300, 1]],
];

test('binary ops match the JS kernels under every broadcast pattern, both operand orders', { skip }, async () => {
  await useNative();
  let seed = 1000;
  for (const kernel of Object.keys(BINARY_CODES)) {
    for (const [sa, sb] of BROADCASTS) {
      for (const [shapeA, shapeB] of [[sa, sb], [sb, sa]]) {
        let a = randn(shapeA, seed++);
        let b = randn(shapeB, seed++);
        if (kernel === 'Pow') {
          a = tf.add(tf.abs(a), 0.5); // a real power of a positive base
        }
        if (kernel === 'RealDiv') b = tf.add(tf.abs(b), 0.5);
        const got = tf.engine().runKernel(kernel, { a, b }) as tf.Tensor;
        const want = runOriginal(kernel, { a, b });
        assert.deepEqual(got.shape, want.shape, `${kernel} ${shapeA} ${shapeB}`);
        assertClose(got.dataSync(), want.values, 1e-4, `${kernel} ${shapeA} ∘ ${shapeB}`);
        tf.dispose([a, b, got]);
      }
    }
  }
});

test('binary ops: int32 operands fall back to the JS kernel and stay exact', { skip }, async () => {
  await useNative();
  const a = tf.tensor1d([1, 2, 3], 'int32');
  assert.deepEqual(tf.add(a, tf.scalar(2, 'int32')).arraySync(), [3, 4, 5]);
  assert.equal(tf.mul(a, a).dtype, 'int32');
});

test('Maximum and Minimum propagate NaN like Math.max / Math.min', { skip }, async () => {
  await useNative();
  const a = tf.tensor1d([NaN, 1, 2]);
  const b = tf.tensor1d([0, NaN, 3]);
  assert.deepEqual(Array.from(tf.maximum(a, b).dataSync()).map(String), ['NaN', 'NaN', '3']);
  assert.deepEqual(Array.from(tf.minimum(a, b).dataSync()).map(String), ['NaN', 'NaN', '2']);
});

test('reductions match the JS kernels over contiguous and scattered axes, with and without keepDims', { skip }, async () => {
  await useNative();
  const shape = [3, 4, 5, 6];
  const axesList: (number | number[])[] = [0, 1, 2, 3, -1, [1, 2], [0, 1, 2, 3], [2, 3], [0, 2], [0, 3]];
  let seed = 2000;
  for (const kernel of Object.keys(REDUCE_CODES)) {
    for (const axis of axesList) {
      for (const keepDims of [false, true]) {
        const x = randn(shape, seed++);
        const attrs: tf.NamedAttrMap = kernel === 'Max' ? { reductionIndices: axis, keepDims } : { axis, keepDims };
        const got = tf.engine().runKernel(kernel, { x }, attrs) as tf.Tensor;
        const want = runOriginal(kernel, { x }, attrs);
        assert.deepEqual(got.shape, want.shape, `${kernel} axis ${axis} keepDims ${keepDims}`);
        assertClose(got.dataSync(), want.values, 1e-4, `${kernel} axis ${axis} keepDims ${keepDims}`);
        tf.dispose([x, got]);
      }
    }
  }
  // A long row (accumulation order matters) and a wide column reduction.
  for (const [s, axis] of [[[2, 100000], 1], [[1000, 300], 0]] as const) {
    const x = tf.add(randn([...s], seed++), 0.3);
    assertClose(tf.sum(x, axis).dataSync(), runOriginal('Sum', { x }, { axis, keepDims: false }).values, 1e-4, `Sum ${s}`);
  }
});

test('Softmax matches the JS kernel, including rows with large and equal logits', { skip }, async () => {
  await useNative();
  let seed = 3000;
  for (const shape of [[1, 1], [4, 10], [2, 3, 50], [64, 1000]]) {
    const logits = tf.mul(randn(shape, seed++), 20);
    const got = tf.softmax(logits);
    const want = runOriginal('Softmax', { logits }, { dim: -1 });
    assertClose(got.dataSync(), want.values, 1e-4, `softmax ${shape}`);
  }
  const flat = tf.softmax(tf.fill([2, 4], 1000));
  assertClose(flat.dataSync(), new Array(8).fill(0.25), 1e-6, 'equal logits');
});

test('Transpose matches the JS kernel for random permutations of ranks 1 to 6', { skip }, async () => {
  await useNative();
  const r = rng(5);
  let seed = 4000;
  for (let trial = 0; trial < 40; trial++) {
    const rank = 1 + (trial % 6);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * (rank > 3 ? 5 : 40)));
    const perm = Array.from({ length: rank }, (_, i) => i);
    for (let i = rank - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const x = randn(shape, seed++);
    const got = tf.transpose(x, perm);
    const want = runOriginal('Transpose', { x }, { perm });
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.values), `transpose ${shape} by ${perm}`);
    tf.dispose([x, got]);
  }
  // Large enough for the tiled path and the thread split: (B, H, T, D) ↔ (B, T, H, D) and a plain 2-D flip.
  for (const [shape, perm] of [[[2, 4, 130, 33], [0, 2, 1, 3]], [[300, 517], [1, 0]], [[3, 70, 90], [2, 1, 0]]] as const) {
    const x = randn([...shape], seed++);
    const want = runOriginal('Transpose', { x }, { perm: [...perm] });
    assert.deepEqual(Array.from(tf.transpose(x, [...perm]).dataSync()), Array.from(want.values), `transpose ${shape}`);
  }
});

test('GatherV2 matches the JS kernel on every axis; a bad index still raises its error', { skip }, async () => {
  await useNative();
  const x = randn([5, 6, 7], 1);
  for (const axis of [0, 1, 2, -1]) {
    const n = x.shape[axis < 0 ? 2 : axis];
    const indices = tf.tensor2d([[0, n - 1, 2], [1, 1, 0]], [2, 3], 'int32');
    const got = tf.gather(x, indices, axis);
    const want = runOriginal('GatherV2', { x, indices }, { axis, batchDims: 0 });
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.values), `axis ${axis}`);
  }
  assert.throws(() => tf.gather(x, tf.tensor1d([0, 9], 'int32'), 0), /index value 9/);
});

test('UnsortedSegmentSum matches the JS kernel, out-of-range ids dropped, rows of any rank', { skip }, async () => {
  await useNative();
  const x = randn([6, 4], 2);
  const ids = tf.tensor1d([2, 0, 2, 7, -1, 1], 'int32');
  const got = tf.unsortedSegmentSum(x, ids, 4);
  const want = runOriginal('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments: 4 });
  assert.deepEqual(got.shape, want.shape);
  assertClose(got.dataSync(), want.values, 1e-6, 'segment sum');
  const x3 = randn([4, 3, 5], 3);
  const ids2 = tf.tensor1d([1, 0, 1, 2], 'int32');
  const want2 = runOriginal('UnsortedSegmentSum', { x: x3, segmentIds: ids2 }, { numSegments: 3 });
  const got2 = tf.unsortedSegmentSum(x3, ids2, 3);
  assert.deepEqual(got2.shape, [3, 3, 5]);
  assertClose(got2.dataSync(), want2.values, 1e-6, 'rank-3 x');
});

test('Slice, SplitV, PadV2 and Concat match the JS kernels on random boxes', { skip }, async () => {
  await useNative();
  const r = rng(9);
  let seed = 5000;
  for (let trial = 0; trial < 30; trial++) {
    const rank = 1 + (trial % 4);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * 7));
    const x = randn(shape, seed++);
    const begin = shape.map((d) => Math.floor(r() * d));
    const size = shape.map((d, i) => (r() < 0.2 ? -1 : 1 + Math.floor(r() * (d - begin[i]))));
    const got = tf.slice(x, begin, size);
    const want = runOriginal('Slice', { x }, { begin, size });
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.values), `slice ${shape} at ${begin} size ${size}`);

    const axis = Math.floor(r() * rank);
    const cut = Math.floor(r() * (shape[axis] + 1));
    const sizes = [cut, shape[axis] - cut];
    const pieces = tf.split(x, sizes, axis);
    const wantPieces = runOriginalMany('SplitV', { x }, { numOrSizeSplits: sizes, axis });
    pieces.forEach((p, i) => assert.deepEqual(Array.from(p.dataSync()), Array.from(wantPieces[i].values), `split ${shape} axis ${axis}`));

    const paddings = shape.map(() => [Math.floor(r() * 3), Math.floor(r() * 3)] as [number, number]);
    const constantValue = trial % 2 ? 0 : 1.5;
    const padded = tf.pad(x, paddings, constantValue);
    const wantPad = runOriginal('PadV2', { x }, { paddings, constantValue });
    assert.deepEqual(padded.shape, wantPad.shape);
    assert.deepEqual(Array.from(padded.dataSync()), Array.from(wantPad.values), `pad ${shape} by ${paddings}`);

    const other = shape.map((d, i) => (i === axis ? 1 + Math.floor(r() * 4) : d));
    const y = randn(other, seed++);
    const cat = tf.concat([x, y, x], axis);
    const wantCat = runOriginal('Concat', { 0: x, 1: y, 2: x } as unknown as Record<string, tf.Tensor>, { axis });
    assert.deepEqual(cat.shape, wantCat.shape);
    assert.deepEqual(Array.from(cat.dataSync()), Array.from(wantCat.values), `concat ${shape}, ${other} axis ${axis}`);
  }
  assert.throws(() => tf.slice(tf.ones([3, 3]), [2, 0], [2, 3]), /slice|size/i);
});
