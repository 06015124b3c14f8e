// The learned-position add (lib/ops/add-positions.ts) and its shader (lib/backend/webgpu/kernels/add-positions.ts)
// run on the CPU through the WGSL translator and registered as a 'cpu' kernel: addPositions then takes it, and its
// value must equal the reference exactly (one add per element, the same order); out-of-range rows are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ADD_POSITIONS_KERNEL, type AddPositionsAttrs, addPositions, addPositionsReference } from '../../../lib/ops/add-positions';
import { ADD_POSITIONS_WGSL, addPositionsUniforms } from '../../../lib/backend/webgpu/kernels/add-positions';
import { withFlatWgslKernel } from '../../helpers/simulated-kernels';
import { useCpu } from '../../helpers/models';

/** The shader on 'cpu' for the duration of f. */
const withKernel = <T>(f: () => T): T =>
  withFlatWgslKernel(ADD_POSITIONS_KERNEL, ADD_POSITIONS_WGSL, ['X', 'TABLE'], (shape, attrs) => addPositionsUniforms(shape, (attrs as unknown as AddPositionsAttrs).start), f);

for (const [shape, start] of [[[1, 1, 8], 0], [[3, 1, 5], 17], [[2, 4, 6], 9]] as const) {
  test(`add-positions kernel x ${JSON.stringify(shape)} from row ${start} equals the slice and add`, async () => {
    await useCpu();
    const x = tf.randomNormal([...shape], 0, 1, 'float32', 1) as tf.Tensor3D;
    const table = tf.randomNormal([32, shape[2]], 0, 1, 'float32', 2) as tf.Tensor2D;
    const want = addPositionsReference(x, table, start);
    const got = withKernel(() => addPositions(x, table, start));
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()));
  });
}

test('add positions refuses rows past the table and a table of another width', async () => {
  await useCpu();
  const x = tf.zeros([1, 3, 4]) as tf.Tensor3D;
  assert.throws(() => addPositions(x, tf.zeros([8, 4]) as tf.Tensor2D, 6), /rows 6 \.\. 8 are outside the table's 8/);
  assert.throws(() => addPositions(x, tf.zeros([8, 5]) as tf.Tensor2D, 0), /the table's rows are 5 wide, x's 4/);
});
