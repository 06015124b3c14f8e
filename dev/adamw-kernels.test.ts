// The three-kernel AdamW (dev/adamw-kernels.ts) against the torch update rule, its shaders translated and run on
// the CPU. Moved out of test/train/adamw.test.ts with the path, as of commit 5dc3d50; run by hand, not by npm test
// (dev/ is outside tsconfig.json): copy adamw-kernels.ts back to lib/backend/webgpu/kernels/ and this file to
// test/train/, with the imports adjusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ADAMW_MOMENT_KERNEL, ADAMW_PARAM_KERNEL, ADAMW_PARAM_WGSL, type AdamWMomentAttrs, type AdamWParamAttrs, adamwMomentWgsl, adamwStepKernels } from './adamw-kernels';
import { runFlatWgsl } from '../test/helpers/wgsl-js';

const hp = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/**
 * The WebGPU AdamW shaders' bodies, translated and run on the CPU, registered as this backend's kernels so that
 * AdamW('kernels') runs them here exactly as it does on a GPU.
 */
function registerShaderKernelsOnCpu(): void {
  if (tf.getKernel(ADAMW_PARAM_KERNEL, 'cpu')) return;
  type Cpu = { readSync(id: object): Float32Array; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
  tf.registerKernel({
    kernelName: ADAMW_MOMENT_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, g } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
      const a = attrs as unknown as AdamWMomentAttrs;
      const b = backend as unknown as Cpu;
      const out = runFlatWgsl(adamwMomentWgsl(a.square), { X: b.readSync(x.dataId), G: b.readSync(g.dataId) }, { keep: a.keep, mix: a.mix, gradScale: a.gradScale }, tf.util.sizeFromShape(x.shape));
      return b.makeTensorInfo(x.shape, 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: ADAMW_PARAM_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, m, v } = inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
      const a = attrs as unknown as AdamWParamAttrs;
      const b = backend as unknown as Cpu;
      const out = runFlatWgsl(ADAMW_PARAM_WGSL, { P: b.readSync(p.dataId), M1: b.readSync(m.dataId), M2: b.readSync(v.dataId) }, { ...a }, tf.util.sizeFromShape(p.shape));
      return b.makeTensorInfo(p.shape, 'float32', out);
    },
  });
}

test('three AdamW steps (three kernels) match the torch update rule computed in float64', async () => {
  await tf.setBackend('cpu');
  registerShaderKernelsOnCpu();
  const p0 = [0.5, -1.25, 2, 0.001];
  const grads = [[0.1, -0.2, 3, 0], [0.05, 0.4, -1, 1e-4], [-0.3, 0.1, 0.2, 2]];
  const lr = 0.01, scale = 0.5;
  const item = { p: tf.variable(tf.tensor1d(p0)), m: tf.variable(tf.zeros([4])), v: tf.variable(tf.zeros([4])) };
  const p = [...p0], m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    const k = { gradScale: scale, beta1: hp.beta1, beta2: hp.beta2, eps: hp.eps, decay: 1 - lr * hp.weightDecay, invSqrtBc2: 1 / Math.sqrt(1 - hp.beta2 ** t), stepSize: lr / (1 - hp.beta1 ** t) };
    const gt = tf.tensor1d(g);
    adamwStepKernels([{ ...item, g: gt }], k);
    gt.dispose();
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * scale;
      p[i] *= 1 - lr * hp.weightDecay;
      m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
      v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
      p[i] -= (lr / (1 - hp.beta1 ** t)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - hp.beta2 ** t) + hp.eps));
    }
  });
  Array.from(item.p.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - p[i]) < 1e-6, `param ${i}: ${x} vs ${p[i]}`));
});
