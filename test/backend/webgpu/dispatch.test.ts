// The bind group cache and layout memo (lib/backend/webgpu/dispatch.ts) against a stand-in 'webgpu' backend
// whose device counts what it creates: the real ones run on the GPU machine (`mla bench coverage` with
// both on, `mla bench dispatch` for their speed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cacheBindGroups, memoizeBindGroupLayouts } from '../../../lib/backend/webgpu/dispatch';

class FakePipeline {
  layoutCalls = 0;
  getBindGroupLayout(i: number) {
    this.layoutCalls += 1;
    return { pipeline: this, i }; // a new object per call, as Dawn's binding returns
  }
}

test('bind groups are reused for the same layout, buffers, offsets and sizes, and only then; layouts are fetched once per pipeline', async () => {
  let created = 0;
  const device = { createBindGroup: (d: object) => ({ id: ++created, d }) };
  const fake = { device, pipelineCache: {} as Record<string, unknown>, dispose() {} };
  tf.registerBackend('webgpu', () => fake as unknown as tf.KernelBackend);
  assert.ok(tf.findBackend('webgpu'));
  assert.equal(memoizeBindGroupLayouts(), true);
  assert.equal(cacheBindGroups(), true);

  const pipeline = new FakePipeline();
  fake.pipelineCache.key = pipeline; // as tfjs stores a newly compiled pipeline
  const stored = fake.pipelineCache.key as FakePipeline;
  const layout = stored.getBindGroupLayout(0);
  assert.equal(stored.getBindGroupLayout(0), layout, 'the same layout object every time');
  assert.equal(pipeline.layoutCalls, 1);

  const a = {}, b = {}, u = {};
  const bind = (out: object, uniform: object, size?: number) =>
    fake.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: out, size } }, { binding: 1, resource: { buffer: uniform } }] });
  const g1 = bind(a, u);
  assert.equal(bind(a, u), g1, 'same buffers: the same group');
  assert.notEqual(bind(b, u), g1, 'another buffer: a new group');
  assert.notEqual(bind(a, u, 64), g1, 'another size: a new group');
  const other = new FakePipeline().getBindGroupLayout(0);
  const g2 = fake.device.createBindGroup({ layout: other, entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: u } }] });
  assert.notEqual(g2, g1, 'another layout: a new group');
  const texture = fake.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { view: 1 } }] });
  assert.notEqual(texture, fake.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { view: 1 } }] }), 'non-buffer resources are never cached');
  assert.equal(created, 6);
  assert.equal(cacheBindGroups(), false, 'applied once');
});
