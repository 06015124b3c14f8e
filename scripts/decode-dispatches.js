#!/usr/bin/env node
// Dispatches of one batch-1 decode step on the cpu backend with the project's WebGPU op kernels run there (their WGSL
// translated to JavaScript, test/helpers/wgsl-js.ts): LayerNorm and RoPE always, as WebGPU has them, then three
// decode paths: caches appended by concat with the unfused attention core (the tfjs reference), caches written in
// place (the cache-write kernel), and in place with the fused decode attention. What WebGPU would dispatch, without
// a GPU: views (Reshape, Identity, ExpandDims) and tf.customGrad scopes are not counted, as `mla bench decode` does.
// Usage, after the build (npm run build): node scripts/decode-dispatches.js [PRESET] [CONTEXT] [MODE ...]
//   e.g. node scripts/decode-dispatches.js 35m-mla-rope 64 latent absorbed full
'use strict';
const path = require('node:path');
const dist = path.resolve(__dirname, '..', 'dist');
const tf = require('@tensorflow/tfjs-core');
const { initBackend } = require(path.join(dist, 'lib/backend'));
const { resolveConfig } = require(path.join(dist, 'lib/config/presets'));
const { cacheModesFor } = require(path.join(dist, 'lib/costs/cache-modes'));
const { createModel } = require(path.join(dist, 'lib/model/gpt'));
const { CACHE_WRITE_KERNEL, ROPE_KERNEL } = require(path.join(dist, 'lib/ops'));
const { CPU_CACHE_WRITE } = require(path.join(dist, 'lib/backend/cpu/kernels/cache-write'));
const { DECODE_ATTENTION_KERNELS } = require(path.join(dist, 'lib/backend/webgpu/kernels/decode-attention'));
const { LAYER_NORM_KERNELS } = require(path.join(dist, 'lib/backend/webgpu/kernels/layer-norm'));
const { ROPE_WGSL, ropeUniforms } = require(path.join(dist, 'lib/backend/webgpu/kernels/rope'));
const { registerSimulated } = require(path.join(dist, 'test/helpers/simulated-kernels'));
const { runFlatWgsl } = require(path.join(dist, 'test/helpers/wgsl-js'));

const VIEWS = new Set(['Reshape', 'Identity', 'ExpandDims']);

/** The RoPE shader on 'cpu', through the flat-body translation. */
function registerRope() {
  tf.registerKernel({
    kernelName: ROPE_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, cos, sin } = inputs;
      const u = ropeUniforms(x.shape, attrs);
      const data = { X: backend.readSync(x.dataId), COS: backend.readSync(cos.dataId), SIN: backend.readSync(sin.dataId) };
      const out = runFlatWgsl(ROPE_WGSL, data, Object.fromEntries(u.map(([n, , v]) => [n, v])), x.shape.reduce((a, b) => a * b, 1), [], Object.fromEntries(u.map(([n, t]) => [n, t])));
      return backend.makeTensorInfo(x.shape, 'float32', out);
    },
  });
}

/** Prefill `context` tokens, one untimed step, then the dispatches of one profiled step. */
async function dispatches(model, mode, context) {
  let state = model.startDecode(1, mode);
  const prompt = tf.tensor2d([Array.from({ length: context }, (_, i) => (i * 7919) % model.config.vocabSize)], undefined, 'int32');
  const token = tf.tensor2d([[1]], undefined, 'int32');
  const step = async (ids) => {
    const r = model.decode(ids, state);
    state = r.state;
    await r.logits.data();
    r.logits.dispose();
  };
  await step(prompt);
  await step(token);
  const profile = await tf.profile(() => step(token));
  model.endDecode(state);
  tf.dispose([prompt, token]);
  return profile.kernels.filter((k) => !VIEWS.has(k.name) && tf.getKernel(k.name, 'cpu')).length;
}

(async () => {
  const [preset = '35m-mla-rope', context = '64', ...asked] = process.argv.slice(2);
  await initBackend('cpu', { native: false });
  registerSimulated(LAYER_NORM_KERNELS);
  registerRope();
  const config = resolveConfig(preset, { dropout: 0 });
  const model = createModel(config, 0);
  for (const mode of asked.length ? asked : cacheModesFor(config)) {
    tf.unregisterKernel(CACHE_WRITE_KERNEL, 'cpu');
    const reference = await dispatches(model, mode, Number(context));
    tf.registerKernel(CPU_CACHE_WRITE);
    const inPlace = await dispatches(model, mode, Number(context));
    const unregister = registerSimulated(DECODE_ATTENTION_KERNELS);
    const fused = await dispatches(model, mode, Number(context));
    unregister();
    console.log(JSON.stringify({ preset, mode, context: Number(context), dispatchesPerStep: { concatUnfused: reference, inPlace, inPlaceFusedAttention: fused } }));
  }
  model.dispose();
})();
