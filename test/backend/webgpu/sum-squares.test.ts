// The Σ x² shader (lib/backend/webgpu/kernels/sum-squares.ts) run on the CPU through the WGSL translator, registered as 'cpu'
// kernels: globalNorm then takes it, and must give what the per-tensor formula gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { globalNorm } from '../../../lib/train/grads';
import { SUM_CHUNK, SUM_SQUARES_KERNELS } from '../../../lib/backend/webgpu/kernels/sum-squares';
import { withSimulated } from '../../helpers/simulated-kernels';
import { useCpu } from '../../helpers/models';

test('globalNorm on the Σ x² kernels equals √Σ g² over tensors of every size around a chunk (groups of 7 and a remainder)', async () => {
  await useCpu();
  const lengths = [1, SUM_CHUNK - 1, SUM_CHUNK, SUM_CHUNK + 1, 3 * SUM_CHUNK + 5, 3, 17, 2, 1000];
  const grads = Object.fromEntries(lengths.map((n, i) => [`p${i}`, tf.randomNormal([n], 0, 1 + i, 'float32', i + 1)]));
  let want = 0;
  for (const g of Object.values(grads)) for (const v of g.dataSync()) want += v * v;
  const plain = globalNorm(grads).dataSync()[0];
  const kernels = withSimulated(SUM_SQUARES_KERNELS, () => globalNorm(grads).dataSync()[0]);
  assert.ok(Math.abs(plain - Math.sqrt(want)) / Math.sqrt(want) < 1e-6, `plain ${plain} vs ${Math.sqrt(want)}`);
  assert.ok(Math.abs(kernels - Math.sqrt(want)) / Math.sqrt(want) < 1e-6, `kernels ${kernels} vs ${Math.sqrt(want)}`);
});
