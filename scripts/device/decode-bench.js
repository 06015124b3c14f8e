// @ts-check
// Per-token decode cost against context length, every cache mode of each preset, on one backend: the
// measurement of lib/experiments/timing.ts decodeCostAt (a prefill of `context` tokens, then single-token
// steps at batch 1, each timed until its logits are read back), but reading with `await data()`, because
// decodeCostAt's dataSync has no implementation on tfjs-backend-webgpu under Dawn in Node. Each (mode, context)
// runs twice: `cold` is the first pass (new cache lengths may compile shaders), the row's numbers the second.
//
//   node scripts/device/decode-bench.js --presets 35m-mha-rope,35m-mla-rope --contexts 128,512,960 \
//     [--steps 20] [--warmup 3] [--modes latent,absorbed] [--backend webgpu] [--out FILE]
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, intList, loadLib, emit, errorLine, runMain, spread, startCpuProfile } = require('./common');

const HELP = `usage: node scripts/device/decode-bench.js --presets P1,P2 [--contexts 128,512,960] [--steps 20]
  [--warmup 3] [--modes M1,M2 (default: every mode each preset supports)] [--backend webgpu|cpu]
  [--cpu-profile FILE (a V8 CPU profile of the second passes)] [--out FILE]`;

/** Compiled shader pipelines the webgpu backend holds (null elsewhere). */
function pipelines() {
  const cache = /** @type {any} */ (tf.backend()).pipelineCache;
  return cache ? Object.keys(cache).length : null;
}

/**
 * @param {any} model @param {string} mode @param {number} context @param {number} steps @param {number} warmup
 */
async function decodeCost(model, mode, context, steps, warmup) {
  const V = model.config.vocabSize;
  let state = model.startDecode(1, mode);
  const token = tf.tensor2d([[1]], [1, 1], 'int32');
  try {
    const prompt = tf.tensor2d([Array.from({ length: context }, (_, i) => (i * 7919) % V)], [1, context], 'int32');
    const p0 = performance.now();
    const pre = model.decode(prompt, state);
    prompt.dispose();
    state = pre.state;
    await pre.logits.data();
    pre.logits.dispose();
    const prefillMs = performance.now() - p0;
    const ms = [];
    let before = pipelines();
    for (let i = 0; i < warmup + steps; i++) {
      if (i === warmup) before = pipelines();
      const t0 = performance.now();
      const r = model.decode(token, state);
      state = r.state;
      await r.logits.data(); // the step is done once its logits are on the host, as a sampler needs them
      r.logits.dispose();
      if (i >= warmup) ms.push(performance.now() - t0);
    }
    const after = pipelines();
    // Shaders compiled during the timed steps: tfjs-backend-webgpu specialises some programs to shapes, and the
    // cache grows by one position per step.
    const newPipelinesPerStep = before === null || after === null ? null : (after - before) / steps;
    return { prefillMs, msPerToken: spread(ms), newPipelinesPerStep };
  } finally {
    token.dispose();
    model.endDecode(state);
  }
}

/** Milliseconds of one tiny GPU op plus reading its result back: the floor under any decode step. */
async function roundTripMs(n = 50) {
  const x = tf.ones([4096]);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const y = tf.add(x, 1);
    await y.data();
    y.dispose();
    ms.push(performance.now() - t0);
  }
  x.dispose();
  return spread(ms.slice(5));
}

runMain(async () => {
  const v = flags(process.argv.slice(2), {
    presets: { type: 'string' },
    contexts: { type: 'string', default: '128,512,960' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    modes: { type: 'string' },
    backend: { type: 'string', default: 'webgpu' },
    'cpu-profile': { type: 'string' },
    out: { type: 'string' },
  }, HELP);
  if (!v.presets) throw new Error('--presets is required (see --help)');
  const contexts = intList('contexts', v.contexts);
  const [steps, warmup] = [int('steps', v.steps), int('warmup', v.warmup, 0)];
  const lib = loadLib();
  const init = await lib.initBackend(v.backend);
  const roundTrip = await roundTripMs();
  process.stderr.write(`one small op + read back: ${roundTrip.median.toFixed(3)} ms\n`);
  const rows = [];
  for (const preset of String(v.presets).split(',')) {
    const config = lib.resolveConfig(preset);
    const model = lib.createModel(config, 0);
    const supported = lib.cacheModesFor(config);
    const modes = v.modes ? String(v.modes).split(',').filter((m) => m === 'none' || supported.includes(m)) : supported;
    try {
      for (const mode of modes) {
        for (const context of contexts) {
          if (context + warmup + steps > config.maxSeqLen) {
            rows.push({ preset, attention: config.attention, cache: mode, context, error: `context ${context} + ${warmup + steps} steps exceeds maxSeqLen ${config.maxSeqLen}` });
            continue;
          }
          try {
            // The first pass meets every cache length for the first time; the second repeats the same lengths,
            // so any shader it needs is compiled already.
            const cold = await decodeCost(model, mode, context, steps, warmup);
            const stop = v['cpu-profile'] ? await startCpuProfile(`${v['cpu-profile']}.${preset}.${mode}.${context}.cpuprofile`) : null;
            const r = await decodeCost(model, mode, context, steps, warmup);
            if (stop) await stop();
            const cacheBytes = mode === 'none' ? 0 : lib.kvCacheBytesForContext(config, context, { mode });
            rows.push({ preset, attention: config.attention, cache: mode, context, ...r, cold, cacheBytes });
            process.stderr.write(`${preset} ${mode} @${context}: ${r.msPerToken.median.toFixed(2)} ms/token, first pass ${cold.msPerToken.median.toFixed(2)} (${cold.newPipelinesPerStep} new shaders/step), prefill ${r.prefillMs.toFixed(0)} ms\n`);
          } catch (err) {
            rows.push({ preset, attention: config.attention, cache: mode, context, error: errorLine(err) });
          }
        }
      }
    } finally {
      model.dispose();
    }
  }
  emit({ bench: 'decode', impl: 'mla-lab (tfjs)', backend: init.backend, device: init.device, batch: 1, steps, warmup, roundTripMs: roundTrip, rows }, v.out);
  return rows.some((r) => 'error' in r) ? 1 : 0;
});
