// AdamW against a scalar reference written from torch.optim.AdamW's update rule, and gradient clipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW } from '../../lib/train/adamw';
import { type InPlaceItem, registerInPlaceAdamW } from '../../lib/ops/adamw';
import { wgslStatementsFn } from '../helpers/wgsl-js';
import { ADAMW_INPLACE_BODY, inPlaceUniformValues } from '../../lib/backend/webgpu/kernels/adamw-inplace';
import { clipFactor, globalNorm } from '../../lib/train/grads';

const hp = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

function reference(p0: number[], grads: number[][], lr: number, scale: number) {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * scale;
      p[i] *= 1 - lr * hp.weightDecay;
      m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
      v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - hp.beta2 ** t) + hp.eps;
      p[i] -= (lr / (1 - hp.beta1 ** t)) * (m[i] / denom);
    }
  });
  return p;
}

/**
 * The WebGPU in-place update's element body, translated and run over the CPU backend's own arrays (which
 * readSync returns by reference), so AdamW('inplace') rewrites them in place here as it rewrites buffers there.
 */
function registerInPlaceOnCpu(): void {
  // Typed as the shader declares them (lib/backend/webgpu/kernels/adamw-inplace.ts): f32 buffers, a struct of
  // f32 step constants, a u32 element index; every f32 operation rounds as on the GPU.
  const names = ['keep1', 'mix1', 'keep2', 'mix2', 'gradScale', 'decay', 'stepSize', 'invSqrtBc2', 'eps', 'maxNorm'] as const;
  const element = wgslStatementsFn(ADAMW_INPLACE_BODY, {
    arrays: { P: 'f32', M: 'f32', V: 'f32', G: 'f32', S: 'f32' },
    structs: { k: Object.fromEntries(names.map((n) => [n, 'f32' as const])) },
    locals: { i: 'u32' },
  }, ['P', 'M', 'V', 'G', 'S', 'k', 'i']);
  registerInPlaceAdamW('cpu', () => ({
    update(items: InPlaceItem[], k, stats) {
      const [keep1, mix1, keep2, mix2, gradScale, decay, stepSize, invSqrtBc2, eps, maxNorm] = inPlaceUniformValues(k).map(Math.fround);
      const u = { keep1, mix1, keep2, mix2, gradScale, decay, stepSize, invSqrtBc2, eps, maxNorm };
      const b = tf.backend() as unknown as { readSync(id: object): Float32Array };
      const S = b.readSync(stats.dataId);
      if (!Number.isFinite(S[0]) || !Number.isFinite(S[1])) return; // the shader's finiteF32 guard
      for (const it of items) {
        const [P, M, V, G] = [it.p, it.m, it.v, it.g].map((t) => b.readSync(t.dataId));
        for (let i = 0; i < P.length; i++) element(P, M, V, G, S, u, i);
      }
    },
  }));
}

for (const impl of ['ops', 'fused', 'inplace'] as const) {
test(`three AdamW steps (${impl}) match the torch update rule computed in float64`, async () => {
  await tf.setBackend('cpu');
  const p0 = [0.5, -1.25, 2, 0.001];
  const grads = [[0.1, -0.2, 3, 0], [0.05, 0.4, -1, 1e-4], [-0.3, 0.1, 0.2, 2]];
  const params = { w: tf.variable(tf.tensor1d(p0)) };
  if (impl === 'inplace') registerInPlaceOnCpu();
  // A tensor sharing the parameter's data (as a restored checkpoint's does) must not see the in-place updates.
  const sharer = tf.clone(params.w);
  const opt = new AdamW(params, hp, impl);
  const live = tf.memory().numTensors;
  for (const g of grads) {
    const gt = { w: tf.tensor1d(g) };
    opt.apply(gt, 0.01, 0.5);
    gt.w.dispose();
  }
  assert.equal(opt.step, 3);
  assert.equal(tf.memory().numTensors, live, 'no tensors left behind');
  const want = reference(p0, grads, 0.01, 0.5);
  const got = Array.from(params.w.dataSync());
  got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `param ${i}: ${x} vs ${want[i]}`));
  assert.deepEqual(Array.from(sharer.dataSync()), Array.from(new Float32Array(p0)), 'a tensor that shared the parameter is untouched');
  sharer.dispose();
  if (impl === 'inplace') registerInPlaceAdamW('cpu', null);
  opt.dispose();
  params.w.dispose();
});
}

test('clipping on the device (inplace) equals the host-clipped update; a non-finite loss or norm leaves everything as it was', async () => {
  await tf.setBackend('cpu');
  registerInPlaceOnCpu();
  const p0 = [0.5, -1.25, 2, 0.001];
  const host = { w: tf.variable(tf.tensor1d(p0)) };
  const device = { w: tf.variable(tf.tensor1d(p0)) };
  const oh = new AdamW(host, hp, 'ops');
  const od = new AdamW(device, hp, 'inplace');
  // Norms above and below the limit (clip factor < 1 and = 1), and an average over 2 micro-batches.
  for (const [g, norm] of [[[0.1, -0.2, 3, 0], 3.2], [[0.05, 0.4, -1, 1e-4], 0.5]] as [number[], number][]) {
    const gt = { w: tf.tensor1d(g) };
    const stats = tf.tensor1d([2.5, norm]);
    assert.equal(od.applyDeviceClipped(gt, 0.01, 0.5, stats, 1.0), true);
    oh.apply(gt, 0.01, clipFactor(norm, 1.0) * 0.5);
    tf.dispose([gt.w, stats]);
  }
  const want = Array.from(host.w.dataSync());
  Array.from(device.w.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `param ${i}: ${x} vs ${want[i]}`));
  const before = Array.from(device.w.dataSync());
  for (const bad of [[NaN, 1], [2, Infinity]]) {
    const gt = { w: tf.tensor1d([1, 1, 1, 1]) };
    const stats = tf.tensor1d(bad);
    od.applyDeviceClipped(gt, 0.01, 0.5, stats, 1.0);
    od.discardStep();
    tf.dispose([gt.w, stats]);
  }
  assert.deepEqual(Array.from(device.w.dataSync()), before, 'skipped on the device');
  assert.equal(od.step, 2, 'the discarded steps are not counted');
  const ops = new AdamW({ w: tf.variable(tf.tensor1d(p0)) }, hp, 'ops');
  assert.equal(ops.applyDeviceClipped({ w: tf.tensor1d([1, 1, 1, 1]) }, 0.01, 1, tf.tensor1d([1, 1]), 1), false, 'no in-place update: the caller applies');
  assert.equal(ops.step, 0);
  registerInPlaceAdamW('cpu', null);
  tf.dispose([host.w, device.w]);
  [oh, od, ops].forEach((o) => o.dispose());
});

test('the fused CPU update agrees with the tfjs-ops update over many steps and leaves no tensors behind', () => {
  const make = () => ({ a: tf.variable(tf.randomNormal([40, 25], 0, 1, 'float32', 1)), b: tf.variable(tf.randomNormal([25], 0, 1, 'float32', 2)) });
  const pa = make();
  const pb = make();
  const start = pa.a.dataSync()[0];
  const ops = new AdamW(pa, hp, 'ops');
  const fused = new AdamW(pb, hp, 'fused');
  const live = tf.memory().numTensors;
  for (let k = 0; k < 20; k++) {
    const g = { a: tf.randomNormal([40, 25], 0, 1, 'float32', 10 + k), b: tf.randomNormal([25], 0, 1, 'float32', 50 + k) };
    ops.apply(g, 1e-2, 0.7);
    fused.apply(g, 1e-2, 0.7);
    tf.dispose([g.a, g.b]);
  }
  assert.equal(tf.memory().numTensors, live);
  for (const n of ['a', 'b'] as const) {
    const x = pa[n].dataSync();
    const y = pb[n].dataSync();
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-3, Math.abs(x[i])));
    assert.ok(worst < 1e-5, `${n}: relative difference ${worst}`);
  }
  const moved = Math.abs(pa.a.dataSync()[0] - start);
  assert.ok(moved > 1e-3, `the parameters did move (${moved})`);
  ops.dispose();
  fused.dispose();
});

test('weight decay is decoupled: a zero gradient only shrinks the weights by lr·wd', () => {
  const params = { w: tf.variable(tf.tensor1d([2, -4])) };
  const opt = new AdamW(params, hp);
  const g = { w: tf.zeros([2]) };
  opt.apply(g, 0.1, 1);
  const got = Array.from(params.w.dataSync());
  assert.ok(Math.abs(got[0] - 2 * (1 - 0.1 * 0.01)) < 1e-6 && Math.abs(got[1] + 4 * (1 - 0.1 * 0.01)) < 1e-6, `${got}`);
  tf.dispose([g.w, params.w]);
  opt.dispose();
});

test('state() and load() carry the moments and step to a second optimizer exactly', () => {
  const a = { w: tf.variable(tf.tensor1d([1, 2, 3])) };
  const b = { w: tf.variable(tf.tensor1d([1, 2, 3])) };
  const oa = new AdamW(a, hp);
  const ob = new AdamW(b, hp);
  const g = { w: tf.tensor1d([0.3, -0.1, 0.7]) };
  oa.apply(g, 0.01, 1);
  const s = oa.state();
  b.w.assign(a.w);
  ob.load(s.step, s.m, s.v);
  oa.apply(g, 0.01, 1);
  ob.apply(g, 0.01, 1);
  assert.deepEqual(Array.from(b.w.dataSync()), Array.from(a.w.dataSync()));
  tf.dispose([g.w, a.w, b.w]);
  oa.dispose();
  ob.dispose();
});

test('global norm and the clip factor follow clip_grad_norm_', () => {
  const g = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[4]]) };
  const n = globalNorm(g);
  assert.ok(Math.abs(n.dataSync()[0] - 5) < 1e-6);
  assert.ok(Math.abs(clipFactor(5, 1) - 1 / (5 + 1e-6)) < 1e-12);
  assert.equal(clipFactor(0.5, 1), 1);
  assert.equal(clipFactor(100, 0), 1, 'maxNorm 0 disables clipping');
  tf.dispose([n, g.a, g.b]);
});

test("AdamW refuses an impl it does not have (the three-kernel 'kernels' left for dev/adamw-kernels.ts)", () => {
  const params = { w: tf.variable(tf.tensor1d([1, 2])) };
  assert.throws(() => new AdamW(params, hp, 'kernels' as never), /^RangeError: AdamW impl 'kernels' is refused: allowed: auto, ops, fused, inplace$/);
  params.w.dispose();
});
