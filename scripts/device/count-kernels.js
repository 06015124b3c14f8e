// @ts-check
// Kernels one decode step launches, per preset and cache mode (counted on the cpu backend: the same ops run on
// any backend). On webgpu every kernel but Reshape and Identity is a shader dispatch, so this count times the
// per-dispatch cost bounds the per-token time.
//
//   node scripts/device/count-kernels.js [--presets 35m-mha-rope,35m-mla-rope] [--context 64] [--out FILE]
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, emit, runMain } = require('./common');

const HELP = 'usage: node scripts/device/count-kernels.js [--presets P1,P2] [--context 64] [--out FILE]';

runMain(async () => {
  const v = flags(process.argv.slice(2), {
    presets: { type: 'string', default: '35m-mha-rope,35m-mla-rope' },
    context: { type: 'string', default: '64' },
    out: { type: 'string' },
  }, HELP);
  const context = int('context', v.context);
  const lib = loadLib();
  await lib.initBackend('cpu', { native: false });
  const rows = [];
  for (const preset of String(v.presets).split(',')) {
    const config = lib.resolveConfig(preset);
    const model = lib.createModel(config, 0);
    for (const mode of lib.cacheModesFor(config)) {
      let state = model.startDecode(1, mode);
      const prompt = tf.tensor2d([Array.from({ length: context }, (_, i) => i % config.vocabSize)], [1, context], 'int32');
      let r = model.decode(prompt, state);
      prompt.dispose();
      r.logits.dispose();
      /** @type {Record<string, number>} */
      const used = {};
      const engine = /** @type {any} */ (tf.engine());
      const original = engine.runKernel;
      engine.runKernel = function (/** @type {string} */ name, /** @type {any[]} */ ...rest) {
        used[name] = (used[name] ?? 0) + 1;
        return original.call(this, name, ...rest);
      };
      const token = tf.tensor2d([[1]], [1, 1], 'int32');
      try {
        r = model.decode(token, r.state);
      } finally {
        engine.runKernel = original;
        token.dispose();
      }
      r.logits.dispose();
      model.endDecode(r.state);
      const total = Object.values(used).reduce((a, b) => a + b, 0);
      rows.push({ preset, cache: mode, kernels: total, dispatches: total - (used.Reshape ?? 0) - (used.Identity ?? 0), byKernel: used });
    }
    model.dispose();
  }
  emit({ context, rows }, v.out);
  return 0;
});
