// The JavaScript fast paths for Slice, SplitV and PadV2 (used when the addon is not built) against
// tfjs's kernels. Needs no addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../../lib/backend';
import type { CpuKernelFunc } from '../../../lib/backend/cpu/kernel-override';
import { fastPadV2, fastSlice, fastSplitV } from '../../../lib/backend/cpu/kernels/strided';
import { randn, rng } from './helpers';

function run(kernel: CpuKernelFunc, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): number[][] {
  const backend = tf.backend() as unknown as MathBackendCPU;
  const out = kernel({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return (Array.isArray(out) ? out : [out]).map((o) => {
    const values = Array.from(backend.readSync(o.dataId) as Float32Array);
    backend.disposeIntermediateTensorInfo(o);
    return [...o.shape, -1, ...values]; // shape, a separator, then the values
  });
}

test('JS Slice, SplitV and PadV2 fast paths equal tfjs kernels on random boxes', async () => {
  await initBackend('cpu', { native: false }); // tfjs's own kernels are the registered ones now
  const orig = (name: string) => tf.getKernel(name, 'cpu')!.kernelFunc as unknown as CpuKernelFunc;
  const r = rng(21);
  let seed = 7000;
  for (let trial = 0; trial < 30; trial++) {
    const rank = 1 + (trial % 4);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * 6));
    const x = randn(shape, seed++);
    const begin = shape.map((d) => Math.floor(r() * d));
    const size = shape.map((d, i) => (r() < 0.2 ? -1 : 1 + Math.floor(r() * (d - begin[i]))));
    assert.deepEqual(run(fastSlice(orig('Slice')), { x }, { begin, size }), run(orig('Slice'), { x }, { begin, size }), `slice ${shape}`);
    const axis = Math.floor(r() * rank) - (trial % 2 ? rank : 0); // negative axes too
    const d = shape[axis < 0 ? axis + rank : axis];
    const splits = trial % 3 === 0 && d % 2 === 0 ? 2 : [Math.floor(d / 2), -1];
    assert.deepEqual(
      run(fastSplitV(orig('SplitV')), { x }, { numOrSizeSplits: splits, axis }),
      run(orig('SplitV'), { x }, { numOrSizeSplits: splits, axis }),
      `split ${shape} axis ${axis}`,
    );
    const paddings = shape.map(() => [Math.floor(r() * 3), Math.floor(r() * 3)]);
    const attrs = { paddings, constantValue: trial % 2 ? 0 : -2 };
    assert.deepEqual(run(fastPadV2(orig('PadV2')), { x }, attrs), run(orig('PadV2'), { x }, attrs), `pad ${shape}`);
    x.dispose();
  }
  assert.throws(() => run(fastSlice(orig('Slice')), { x: tf.ones([3, 3]) }, { begin: [2, 0], size: [2, 3] }), /slice|size/i);
  await initBackend('cpu');
});
