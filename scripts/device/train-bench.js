// @ts-check
// Training throughput of the lab's model on one backend: the trainer's step (accumulated gradients, global-norm
// clip 1.0, AdamW 6e-4 with wd 0.01, dropout as configured) on real tokens, timed per step. It repeats the
// step of lib/train/trainer.ts with one difference: the loss and gradient norm are read with `await data()`,
// because dataSync (which the trainer uses) has no implementation on tfjs-backend-webgpu under Dawn in Node.
//
//   node scripts/device/train-bench.js --preset 35m-mla-rope --tokens-file F.u16 --batch 8 --seq 1024 \
//     [--accum 1] [--steps 30] [--warmup 3] [--max-seconds 120] [--backend webgpu] [--profile] [--out FILE]
//
// --profile adds, after the timed steps, the time of each phase of a step (forward, forward + backward, AdamW)
// and tf.profile's kernel list of one forward + backward: the kernels with the most GPU time (where the
// backend has timestamp queries) and the most calls. --cpu-profile FILE writes a V8 CPU profile of the steps
// after --warmup (summarise it with scripts/device/cpuprofile-summary.js).
//
// tokens/s = B·T·A / step time, the median over the steps after --warmup (the first steps compile shaders).
// Stops early after --max-seconds of training, keeping at least warmup + 3 steps.
'use strict';
const fs = require('node:fs');
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, emit, errorLine, runMain, spread, startCpuProfile } = require('./common');
const { gpuErrorScope } = require('./coverage');

const HELP = `usage: node scripts/device/train-bench.js --preset P --tokens-file F.u16 [--batch 8] [--seq 1024]
  [--accum 1] [--steps 30] [--warmup 3] [--max-seconds 120] [--backend webgpu|cpu] [--lr 6e-4] [--profile] [--cpu-profile F]
  [--tf-flags NAME=VALUE,...] [--out FILE]
--tf-flags sets tfjs environment flags after the backend starts (e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64).
The WebGPU settings (MLA_WEBGPU_FUSED, MLA_WEBGPU_MATMUL, MLA_FLASH_ROWS, …, lib/backend/) are read from the
environment and recorded.
F.u16: little-endian uint16 token ids (a data/tokens/*.train.u16 file or a prefix of one).`;

/** @param {string} file @param {number} vocab */
function readTokens(file, vocab) {
  if (!fs.existsSync(file)) throw new Error(`--tokens-file ${file} does not exist; pass a data/tokens/*.train.u16 file`);
  const buf = fs.readFileSync(file);
  if (buf.length % 2 !== 0) throw new Error(`--tokens-file ${file}: ${buf.length} bytes is not a whole number of uint16 ids`);
  const ids = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const over = ids.findIndex((id) => id >= vocab);
  if (over >= 0) throw new Error(`--tokens-file ${file}: id ${ids[over]} at ${over} is outside the model's vocabulary of ${vocab}; use the token file of that vocabulary size`);
  return ids;
}

/**
 * Calls and GPU milliseconds of tf.profile's kernels, grouped by `key`.
 * @param {any[]} kernels @param {(k: any) => string} key @returns {[string, {calls: number, ms: number}][]}
 */
function kernelTotals(kernels, key) {
  /** @type {Map<string, {calls: number, ms: number}>} */
  const by = new Map();
  for (const k of kernels) {
    const e = by.get(key(k)) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    if (typeof k.kernelTimeMs === 'number') e.ms += k.kernelTimeMs;
    by.set(key(k), e);
  }
  return [...by.entries()];
}

/**
 * Seconds of each phase of a step, each ended by reading a small result (so the GPU work is finished), and
 * tf.profile's kernels of one forward + backward.
 * @param {any} lib @param {any} model @param {tf.Variable[]} vars @param {any} adam @param {any} source
 * @param {number} B @param {number} T
 */
async function profilePhases(lib, model, vars, adam, source, B, T) {
  const batch = source.next(B, T);
  const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
  const targets = tf.tensor2d(batch.targets, [B, T], 'int32');
  const lossFn = () => model.loss(ids, targets, { training: true, dropoutSeed: 1 });
  /** @param {() => Promise<void>} f */
  const timed = async (f, n = 3) => {
    const s = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await f();
      s.push((performance.now() - t0) / 1000);
    }
    return spread(s);
  };
  /** @type {Record<string, unknown>} */
  const out = {};
  try {
    out.forwardSeconds = await timed(async () => {
      const l = tf.tidy(lossFn);
      await l.data();
      l.dispose();
    });
    out.forwardBackwardSeconds = await timed(async () => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const n = lib.globalNorm(grads);
      await n.data();
      tf.dispose([value, n, ...Object.values(grads)]);
    });
    const names = Object.keys(model.params);
    const zeros = Object.fromEntries(names.map((n) => [n, tf.zerosLike(model.params[n])]));
    out.adamwSeconds = await timed(async () => {
      adam.apply(zeros, 0, 1);
      await model.params[names[0]].data();
    });
    tf.dispose(Object.values(zeros));
    const info = await tf.profile(async () => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    });
    const rows = kernelTotals(info.kernels, (k) => k.name).map(([name, e]) => ({ name, ...e }));
    const timedKernels = info.kernels.filter((k) => typeof /** @type {any} */ (k.kernelTimeMs) === 'number').length;
    // BatchMatMul by input shapes: which products the time goes to.
    out.matMulsByShape = kernelTotals(info.kernels.filter((k) => k.name === 'BatchMatMul'), (k) => JSON.stringify(k.inputShapes))
      .map(([shapes, e]) => ({ shapes, ...e }))
      .sort((a, b) => b.ms - a.ms);
    out.kernels = {
      total: info.kernels.length,
      timed: timedKernels,
      byTime: [...rows].sort((a, b) => b.ms - a.ms).slice(0, 15),
      byCalls: [...rows].sort((a, b) => b.calls - a.calls).slice(0, 10),
      peakBytes: info.peakBytes,
    };
  } catch (err) {
    out.error = errorLine(err);
  } finally {
    tf.dispose([ids, targets]);
  }
  return out;
}

runMain(async () => {
  const v = flags(process.argv.slice(2), {
    preset: { type: 'string' },
    'tokens-file': { type: 'string' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '1024' },
    accum: { type: 'string', default: '1' },
    steps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    'max-seconds': { type: 'string', default: '120' },
    backend: { type: 'string', default: 'webgpu' },
    lr: { type: 'string', default: '6e-4' },
    seed: { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    'cpu-profile': { type: 'string' },
    'tf-flags': { type: 'string', default: '' },
    out: { type: 'string' },
  }, HELP);
  if (!v.preset || !v['tokens-file']) throw new Error('--preset and --tokens-file are required (see --help)');
  const [B, T, A, steps, warmup] = [int('batch', v.batch), int('seq', v.seq), int('accum', v.accum), int('steps', v.steps), int('warmup', v.warmup, 0)];
  const maxSeconds = Number(v['max-seconds']);
  const lrPeak = Number(v.lr);
  const seed = int('seed', v.seed, 0);
  const lib = loadLib();
  const init = await lib.initBackend(v.backend);
  /** @type {Record<string, number | boolean>} */
  const tfFlags = {};
  for (const pair of String(v['tf-flags']).split(',').filter(Boolean)) {
    const [name, value] = pair.split('=');
    const parsed = value === 'true' ? true : value === 'false' ? false : Number(value);
    if (!name || (typeof parsed === 'number' && !Number.isFinite(parsed))) throw new Error(`--tf-flags '${pair}': expected NAME=number|true|false`);
    tf.env().set(name, parsed);
    tfFlags[name] = parsed;
  }
  const config = lib.resolveConfig(v.preset);
  if (T > config.maxSeqLen) throw new Error(`--seq ${T} exceeds ${v.preset}'s maxSeqLen ${config.maxSeqLen}`);
  const tokens = readTokens(v['tokens-file'], config.vocabSize);
  const model = lib.createModel(config, seed);
  const params = Object.values(model.params).reduce((a, p) => a + p.size, 0);
  const names = Object.keys(model.params);
  const vars = names.map((n) => model.params[n]);
  const nameOf = new Map(vars.map((p, i) => [p.name, names[i]]));
  const source = new lib.SamplerSource(tokens, { batchSize: B, seqLen: T, seed: seed + 1 });
  const adam = new lib.AdamW(model.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const warmupLr = Math.max(1, warmup);
  /** @type {(() => Promise<void>) | null} */
  let stopCpuProfile = null;
  /** @type {{step: number, loss: number, gradNorm: number, seconds: number, tokensPerSec: number, gpuMiB: number | null}[]} */
  const log = [];
  let error = null;
  /** @type {unknown} */
  let profile = null;
  const scope = gpuErrorScope();
  const t0 = performance.now();
  try {
    for (let step = 0; step < steps; step++) {
      if (step === warmup && v['cpu-profile']) stopCpuProfile = await startCpuProfile(v['cpu-profile']);
      const s0 = performance.now();
      // A short linear warm-up, then constant: enough to see the loss fall in a few dozen steps.
      const lr = lrPeak * Math.min(1, (step + 1) / warmupLr);
      /** @type {Record<string, tf.Tensor> | undefined} */
      let acc;
      const losses = [];
      for (let micro = 0; micro < A; micro++) {
        const batch = source.next(B, T);
        const { value, grads } = tf.tidy(() => {
          const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
          const targets = tf.tensor2d(batch.targets, [B, T], 'int32');
          return tf.variableGrads(() => model.loss(ids, targets, { training: true, dropoutSeed: step * 131 + micro }), vars);
        });
        /** @type {Record<string, tf.Tensor>} */
        const named = {};
        for (const [vn, g] of Object.entries(grads)) named[nameOf.get(vn) ?? vn] = g;
        acc = lib.accumulate(acc, named);
        losses.push(value);
      }
      const grads = /** @type {Record<string, tf.Tensor>} */ (acc);
      const stats = tf.tidy(() => tf.div(tf.stack([tf.addN(losses), lib.globalNorm(grads)]), A)); // [mean loss, norm]
      // As the trainer: the update is recorded before the norm is read where it can clip on the device.
      const onDevice = adam.applyDeviceClipped(grads, lr, 1 / A, stats, 1.0);
      const [loss, gradNorm] = await stats.data();
      stats.dispose();
      tf.dispose(losses);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) throw new Error(`loss ${loss}, gradient norm ${gradNorm} at step ${step + 1}`);
      if (!onDevice) adam.apply(grads, lr, lib.clipFactor(gradNorm, 1.0) / A);
      tf.dispose(Object.values(grads));
      const seconds = (performance.now() - s0) / 1000;
      // GPU memory the backend holds, freed buffers included: growth after the first steps means new buffers.
      const held = /** @type {any} */ (tf.memory()).numBytesAllocatedInGPU;
      log.push({ step: step + 1, loss, gradNorm, seconds, tokensPerSec: (B * T * A) / seconds, gpuMiB: typeof held === 'number' ? Math.round(held / 2 ** 20) : null });
      process.stderr.write(`step ${step + 1}: loss ${loss.toFixed(4)}, ${seconds.toFixed(3)} s, ${((B * T * A) / seconds).toFixed(0)} tokens/s\n`);
      if ((performance.now() - t0) / 1000 > maxSeconds && step + 1 >= warmup + 3) break;
    }
    if (stopCpuProfile) await stopCpuProfile();
    stopCpuProfile = null;
    if (v.profile) profile = await profilePhases(lib, model, vars, adam, source, B, T);
  } catch (err) {
    error = errorLine(err);
  } finally {
    error ??= await scope.end();
    adam.dispose();
    model.dispose();
  }
  const timed = log.slice(warmup);
  const losses = log.map((l) => l.loss);
  emit({
    bench: 'train',
    impl: 'mla-lab (tfjs)',
    backend: init.backend,
    device: init.device,
    preset: v.preset,
    params,
    batch: B,
    seq: T,
    accum: A,
    tokensPerStep: B * T * A,
    tfFlags,
    webgpuMatMul: lib.describeBackend().backendSettings.webgpu.matmul,
    backendSettings: lib.describeBackend().backendSettings,
    webgpuEnv: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^MLA_(WEBGPU|FLASH)_/.test(k))),
    warmup,
    stepsRun: log.length,
    tokensPerSec: timed.length ? spread(timed.map((l) => l.tokensPerSec)) : null,
    stepSeconds: timed.length ? spread(timed.map((l) => l.seconds)) : null,
    firstStepSeconds: log[0]?.seconds ?? null,
    loss: { first: losses[0] ?? null, last: losses[losses.length - 1] ?? null, decreased: losses.length > 1 && losses[losses.length - 1] < losses[0] },
    steps: log,
    profile,
    error,
    tfjsMemory: tf.memory(),
  }, v.out);
  return error ? 1 : 0;
});
