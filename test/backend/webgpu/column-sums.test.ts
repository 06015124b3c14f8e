// The column-sum shaders (lib/backend/webgpu/kernels/column-sums.ts) translated to JavaScript and run on the CPU: both passes
// against a float64 loop, then as the cpu backend's Sum (the same kernel function the webgpu backend gets),
// where sums over leading axes take them and bias gradients must come out as tfjs's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { COLUMN_PARTIALS_WGSL, COLUMN_TOTALS_WGSL, columnSumPlan, leadingAxes, sumOverLeadingAxes } from '../../../lib/backend/webgpu/kernels/column-sums';
import { runFlatWgsl, runWorkgroupShader } from '../../helpers/wgsl-js';
import { useCpu } from '../../helpers/models';

/** Both passes over X (rows, cols), as the kernel dispatches them. */
function simulate(X: Float32Array, rows: number, cols: number): Float32Array {
  const p = columnSumPlan(rows, cols);
  const partial = new Float32Array(p.chunks * cols);
  runWorkgroupShader(COLUMN_PARTIALS_WGSL, {
    inputs: { X },
    result: partial,
    uniforms: { rows, cols, rowsPerChunk: p.rowsPerChunk },
    dispatch: [Math.ceil(cols / 64), p.chunks, 1],
    workgroupSize: [64, 4, 1],
  });
  return runFlatWgsl(COLUMN_TOTALS_WGSL, { P: partial }, { chunks: p.chunks }, cols, [], { chunks: 'i32' });
}

test('column sums: both passes equal a float64 loop (ragged column groups, one chunk and many, rows not a multiple of the lanes)', () => {
  for (const [rows, cols] of [[1, 5], [7, 64], [300, 70], [1000, 129], [4099, 8], [8192, 3]]) {
    const X = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));
    const got = simulate(X, rows, cols);
    for (let c = 0; c < cols; c++) {
      let want = 0;
      for (let r = 0; r < rows; r++) want += X[r * cols + c];
      assert.ok(Math.abs(got[c] - want) <= 1e-5 * Math.max(1, Math.abs(want)) + 1e-4, `${rows}×${cols} column ${c}: ${got[c]} vs ${want}`);
    }
  }
  assert.ok(columnSumPlan(8192, 512).chunks > 1 && columnSumPlan(8192, 512).chunks <= 32);
});

test('leadingAxes: only 0 .. k − 1 with k below the rank', () => {
  assert.equal(leadingAxes([0], 2), 1);
  assert.equal(leadingAxes([1, 0], 3), 2);
  assert.equal(leadingAxes([1], 3), 0);
  assert.equal(leadingAxes([0, 1], 2), 0, 'a full reduction stays with tfjs');
  assert.equal(leadingAxes([], 2), 0);
  assert.equal(leadingAxes([0, 2], 3), 0);
});

test('as the Sum kernel: leading-axis sums (keepDims or not), fallbacks, and a bias gradient equal tfjs’s own', async () => {
  await useCpu();
  const original = tf.getKernel('Sum', 'cpu')!;
  type Cpu = { readSync(id: object): Float32Array; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
  let taken = 0;
  const simulated = (backend: unknown, x: tf.TensorInfo, rows: number, cols: number) => {
    taken++;
    const b = backend as Cpu;
    return b.makeTensorInfo([cols], 'float32', simulate(b.readSync(x.dataId), rows, cols));
  };
  const x = tf.randomNormal([3, 5, 7], 0, 1, 'float32', 4);
  const w = tf.randomNormal([7, 6], 0, 1, 'float32', 5);
  const bias = tf.randomNormal([6], 0, 1, 'float32', 6);
  const cases = () => {
    const dBias = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(tf.reshape(x, [15, 7]), w), b), tf.range(0, 90).reshape([15, 6]))))(bias);
    return [tf.sum(x, 0), tf.sum(x, [0, 1]), tf.sum(x, [1, 0], true), tf.sum(x, 1), tf.sum(x), tf.sum(x, -1, true), dBias];
  };
  const want = cases();
  tf.unregisterKernel('Sum', 'cpu');
  tf.registerKernel({ ...original, kernelFunc: sumOverLeadingAxes(original.kernelFunc as never, simulated) as tf.KernelFunc });
  let got: tf.Tensor[];
  try {
    got = cases();
  } finally {
    tf.unregisterKernel('Sum', 'cpu');
    tf.registerKernel(original);
  }
  assert.ok(taken >= 4, `the leading-axis sums took the column sums (${taken})`);
  got.forEach((g, i) => {
    assert.deepEqual(g.shape, want[i].shape, `case ${i}: shape`);
    const a = g.dataSync();
    const b = want[i].dataSync();
    for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-4 * Math.max(1, Math.abs(b[j])), `case ${i}[${j}]: ${a[j]} vs ${b[j]}`);
  });
  tf.dispose([x, w, bias, ...want, ...got]);
});
