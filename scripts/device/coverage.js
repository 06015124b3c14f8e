// @ts-check
// Kernel coverage of the WebGPU backend. For every attention kind (tiny presets) it computes, from the same
// weights on 'cpu' and on 'webgpu': the logits of a full forward, one training step (loss with dropout, every
// gradient, one AdamW update) and cached decoding in every cache mode (a prefill, then single tokens), and
// reports the largest differences. It also lists the kernels that ran on webgpu, any that webgpu lacks, the
// ones the webgpu backend ran on the CPU (small inputs still on the host), and which library entry points
// fail on webgpu because they read results synchronously (dataSync has no implementation under Dawn in Node).
//
//   node scripts/device/coverage.js [--presets tiny-mla-rope,...] [--out FILE]
//
// Without a GPU adapter it prints {"adapter": null, "reason": ...} and exits 0. staticCoverage() is the part
// that needs no GPU: the kernels a cpu run uses, checked against the kernels tfjs-backend-webgpu registers.
// Shape legend: B batch, T time, V vocabulary.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const { flags, loadLib, emit, errorLine, runMain } = require('./common');

const DEFAULT_PRESETS = [
  'tiny-mha-rope', 'tiny-mha-norope', 'tiny-gqa-rope', 'tiny-mqa-rope',
  'tiny-mla-rope', 'tiny-mla-norope', 'tiny-mha-decoupled-rope',
];
const B = 2;
const T = 16;
/** Decoding feeds the first PREFILL tokens at once, then the rest one at a time. */
const PREFILL = 11;
const LR = 1e-3;
const DROPOUT_SEED = 11;
/** The original's 0.01·N(0, 1) init leaves attention almost uniform, which would hide position bugs; the
 * comparison scales every normally-initialised weight up to 0.1·N(0, 1). */
const WEIGHT_SCALE = 10;
/** Largest accepted difference relative to the reference's largest magnitude (fp32 on both sides; a wrong or
 * missing kernel gives errors of order 1). */
const REL_TOL = 1e-3;
/** Largest accepted parameter difference after one AdamW step, in units of the learning rate. The first step
 * moves each weight by lr·g/(|g| + eps): for gradients within a few eps of zero, float rounding differences in g
 * move it by a sizeable fraction of lr (0.07 lr was seen between cpu and webgpu); a wrong update moves it by ~lr. */
const STEP_TOL_LR = 0.25;

/** Deterministic ids (B, T) and their next-token targets. @param {number} V */
function batchIds(V) {
  const ids = [];
  const targets = [];
  for (let b = 0; b < B; b++) {
    const row = Array.from({ length: T + 1 }, (_, t) => (b * 131 + t * t * 17 + 3) % V);
    ids.push(row.slice(0, T));
    targets.push(row.slice(1));
  }
  return { ids, targets };
}

/**
 * Weights as plain arrays, from the library's seeded init on whatever backend is active, scaled up.
 * @param {any} lib @param {any} config @param {number} seed
 * @returns {Record<string, {shape: number[], values: Float32Array}>}
 */
function makeWeights(lib, config, seed) {
  const model = lib.createModel(config, seed);
  /** @type {Record<string, {shape: number[], values: Float32Array}>} */
  const out = {};
  for (const [name, p] of Object.entries(model.params)) {
    const v = /** @type {Float32Array} */ (p.dataSync()).slice();
    if (lib.initRule(name) === 'normal') for (let i = 0; i < v.length; i++) v[i] *= WEIGHT_SCALE;
    out[name] = { shape: p.shape, values: v };
  }
  model.dispose();
  return out;
}

/** @param {any} lib @param {any} config @param {Record<string, {shape: number[], values: Float32Array}>} weights */
function buildModel(lib, config, weights) {
  /** @type {Record<string, tf.Variable>} */
  const params = {};
  for (const [name, w] of Object.entries(weights)) params[name] = tf.variable(tf.tensor(w.values, w.shape, 'float32'), true);
  return new lib.GPT(config, params);
}

/** Reads a tensor without dataSync (which Dawn cannot serve) and disposes it. @param {tf.Tensor} t */
async function take(t) {
  const v = /** @type {Float32Array} */ (await t.data());
  t.dispose();
  return v;
}

/**
 * Everything the comparison needs, computed on the active backend. Each phase catches its own failure, so
 * one broken kernel does not hide the others.
 * @param {any} lib @param {string} preset @param {Record<string, {shape: number[], values: Float32Array}>} weights
 * @param {(phase: string, err: unknown) => void} fail
 */
async function computeCase(lib, preset, weights, fail) {
  const config = lib.resolveConfig(preset);
  const model = buildModel(lib, config, weights);
  const { ids, targets } = batchIds(config.vocabSize);
  /** @type {{logits?: Float32Array, decode: Record<string, Float32Array>, loss?: number, gradNorm?: number, grads?: Record<string, Float32Array>, updated?: Record<string, Float32Array>, movedAfterNaN?: number}} */
  const out = { decode: {} };
  const idsT = tf.tensor2d(ids, [B, T], 'int32');
  const targetsT = tf.tensor2d(targets, [B, T], 'int32');
  try {
    try {
      out.logits = await take(model.logits(idsT)); // (B, T, V)
    } catch (err) {
      fail('forward', err);
    }
    for (const mode of ['none', ...lib.cacheModesFor(config)]) {
      try {
        out.decode[mode] = await decodeAll(model, ids, mode);
      } catch (err) {
        fail(`decode:${mode}`, err);
      }
    }
    try {
      const names = Object.keys(model.params);
      const vars = names.map((n) => model.params[n]);
      const nameOf = new Map(vars.map((v, i) => [v.name, names[i]]));
      const { value, grads } = tf.variableGrads(() => model.loss(idsT, targetsT, { training: true, dropoutSeed: DROPOUT_SEED }), vars);
      out.loss = (await value.data())[0];
      /** @type {Record<string, tf.Tensor>} */
      const named = {};
      for (const [vn, g] of Object.entries(grads)) named[nameOf.get(vn) ?? vn] = g;
      out.grads = {};
      for (const [n, g] of Object.entries(named)) out.grads[n] = /** @type {Float32Array} */ (await g.data());
      // The trainer's step statistics: tf.addN over the losses and the global norm (an AddN over one
      // square-sum per parameter, more inputs than one WebGPU shader may bind).
      const stats = tf.tidy(() => tf.stack([tf.div(tf.addN([value, value]), 2), lib.globalNorm(named)])); // [mean loss, norm]
      out.gradNorm = (await stats.data())[1];
      // The AdamW the trainer uses, in its backend's default form (fused JS on cpu; on webgpu in place, with the
      // clip factor and finite check read from the step's statistics on the device; maxNorm 0: no clipping).
      const adam = new lib.AdamW(model.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
      if (!adam.applyDeviceClipped(named, LR, 1, stats, 0)) adam.apply(named, LR, 1);
      out.updated = {};
      for (const n of names) out.updated[n] = /** @type {Float32Array} */ (await model.params[n].data());
      // A NaN loss: an update recorded before the host sees it must leave every parameter as it was.
      const nanStats = tf.tensor1d([NaN, out.gradNorm]);
      if (adam.applyDeviceClipped(named, LR, 1, nanStats, 1)) {
        adam.discardStep();
        let moved = 0;
        for (const n of names) {
          const now = /** @type {Float32Array} */ (await model.params[n].data());
          for (let i = 0; i < now.length; i++) if (now[i] !== out.updated[n][i]) moved++;
        }
        out.movedAfterNaN = moved;
      }
      adam.dispose();
      tf.dispose([value, stats, nanStats, ...Object.values(named)]);
    } catch (err) {
      fail('train-step', err);
    }
  } finally {
    idsT.dispose();
    targetsT.dispose();
    model.dispose();
  }
  return out;
}

/**
 * Logits (B, T, V) of a prefill of PREFILL tokens then one token at a time, in cache mode `mode`.
 * @param {any} model @param {number[][]} ids @param {string} mode
 */
async function decodeAll(model, ids, mode) {
  const V = model.config.vocabSize;
  const rows = new Float32Array(B * T * V);
  let state = model.startDecode(B, mode);
  try {
    for (let start = 0; start < T; ) {
      const t = start === 0 ? PREFILL : 1;
      const chunk = tf.tensor2d(ids.map((r) => r.slice(start, start + t)), [B, t], 'int32');
      const r = model.decode(chunk, state);
      chunk.dispose();
      state = r.state;
      const v = await take(r.logits); // (B, t, V)
      for (let b = 0; b < B; b++) rows.set(v.subarray(b * t * V, (b + 1) * t * V), (b * T + start) * V);
      start += t;
    }
  } finally {
    model.endDecode(state);
  }
  return rows;
}

/** Largest |a − b| and the reference's largest |b|. @param {Float32Array} a @param {Float32Array} b */
function diff(a, b) {
  let maxAbsDiff = 0;
  let refMaxAbs = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    refMaxAbs = Math.max(refMaxAbs, Math.abs(b[i]));
  }
  if (a.length !== b.length || Number.isNaN(maxAbsDiff)) maxAbsDiff = Infinity;
  return { maxAbsDiff, refMaxAbs, rel: maxAbsDiff / Math.max(refMaxAbs, 1e-30) };
}

/**
 * Worst tensor of two named sets; each tensor's difference is relative to its own largest value, floored at
 * 1e-3 of the largest value over all tensors (a tensor of near-zero gradients would otherwise divide by ~0).
 * @param {Record<string, Float32Array>} got @param {Record<string, Float32Array>} ref
 */
function worstOf(got, ref) {
  const all = Object.values(ref).reduce((m, v) => Math.max(m, ...Array.from(v, Math.abs)), 0);
  let worst = { name: '', maxAbsDiff: 0, refMaxAbs: 0, rel: 0 };
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    const d = g ? diff(g, r) : { maxAbsDiff: Infinity, refMaxAbs: 0, rel: Infinity };
    const rel = d.maxAbsDiff / Math.max(d.refMaxAbs, 1e-3 * all, 1e-30);
    if (!(rel <= worst.rel)) worst = { name, ...d, rel };
  }
  return worst;
}

/**
 * Wraps the engine's runKernel to count kernels by name; with a webgpu backend, also records the kernels its
 * CPU hand-off ran. Returns the counts and an undo function.
 */
function recordKernels() {
  const engine = /** @type {any} */ (tf.engine());
  /** @type {Record<string, number>} */
  const used = {};
  /** @type {Record<string, number>} */
  const onCpu = {};
  let current = '';
  const original = engine.runKernel;
  engine.runKernel = function (/** @type {string} */ name, /** @type {any[]} */ ...rest) {
    used[name] = (used[name] ?? 0) + 1;
    const outer = current;
    current = name;
    try {
      return original.call(this, name, ...rest);
    } finally {
      current = outer;
    }
  };
  const backend = /** @type {any} */ (tf.backend());
  const handoff = typeof backend.shouldExecuteOnCPU === 'function' ? backend.shouldExecuteOnCPU : null;
  if (handoff) {
    backend.shouldExecuteOnCPU = function (/** @type {any[]} */ ...args) {
      const yes = handoff.apply(this, args);
      if (yes) onCpu[current] = (onCpu[current] ?? 0) + 1;
      return yes;
    };
  }
  return {
    used,
    onCpu,
    undo() {
      engine.runKernel = original;
      if (handoff) backend.shouldExecuteOnCPU = handoff;
    },
  };
}

/**
 * Catches WebGPU validation and out-of-memory errors (an invalid pipeline makes Dawn drop the whole command
 * buffer, so results silently read as zeros) until end(), which returns the first one's message or null.
 * Off webgpu it catches nothing.
 */
function gpuErrorScope() {
  const device = /** @type {any} */ (tf.backend()).device;
  if (!device || typeof device.pushErrorScope !== 'function') return { end: async () => null };
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  return {
    async end() {
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      const e = validation ?? oom;
      return e ? `${validation ? 'validation' : 'out-of-memory'}: ${String(e.message).split('\n')[0]}` : null;
    },
  };
}

/** Kernel names in `used` that tfjs-backend-webgpu does not register. @param {Record<string, number>} used */
function missingOnWebgpu(used) {
  // Loading the package registers its kernels even where it cannot register the backend (no navigator.gpu).
  require('@tensorflow/tfjs-backend-webgpu');
  const have = new Set(tf.getKernelsForBackend('webgpu').map((k) => k.kernelName));
  return Object.keys(used).filter((k) => !have.has(k)).sort();
}

/**
 * The part that needs no GPU: runs every case on the cpu backend and lists the kernels it used that webgpu
 * lacks. Call initBackend('webgpu') before this if you want WebGPU later in the same process (this loads
 * tfjs-backend-webgpu, which registers its backend only if navigator.gpu already exists).
 * @param {string[]} presets
 */
async function staticCoverage(presets = DEFAULT_PRESETS) {
  const lib = loadLib();
  await lib.initBackend('cpu', { native: false });
  const rec = recordKernels();
  /** @type {{preset: string, phase: string, error: string}[]} */
  const failed = [];
  try {
    for (const preset of presets) {
      const weights = makeWeights(lib, lib.resolveConfig(preset), 1);
      await computeCase(lib, preset, weights, (phase, err) => failed.push({ preset, phase, error: errorLine(err) }));
    }
  } finally {
    rec.undo();
  }
  return { used: Object.keys(rec.used).sort(), missing: missingOnWebgpu(rec.used), failed };
}

/**
 * Library entry points that once read results with dataSync, tried on a tiny model on the active backend: each
 * must give 'ok' (they read with await data() now). tfjs's own Tensor.dataSync is not among them: it cannot
 * work on tfjs-backend-webgpu under Dawn in Node (it needs OffscreenCanvas), so it is no check of the library.
 * @param {any} lib
 */
async function probeSyncReads(lib) {
  const config = lib.resolveConfig('tiny-mla-rope');
  const model = lib.createModel(config, 2);
  /** @type {Record<string, string>} */
  const out = {};
  /** @param {string} name @param {() => unknown | Promise<unknown>} fn */
  const attempt = async (name, fn) => {
    try {
      await fn();
      out[name] = 'ok';
    } catch (err) {
      out[name] = errorLine(err);
    }
  };
  await attempt('decodeCostAt', () => lib.decodeCostAt(model, 'absorbed', 4, 1, 0));
  await attempt('generate', () => lib.generate(model, [[1, 2, 3]], { maxNewTokens: 2, cache: 'latent' }));
  await attempt('perplexity', () => lib.perplexity(model, new Uint16Array(200).map((_, i) => (i * 37) % 512), { seqLen: 16, batchSize: 2 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-webgpu-'));
  try {
    const tokens = new Int32Array(4096).map((_, i) => (i * 7919) % config.vocabSize);
    const data = { train: new lib.SamplerSource(tokens, { batchSize: 2, seqLen: 16, seed: 1 }) };
    await attempt('train', () => lib.train(model, data, { tokens: 32, batchSize: 2, seqLen: 16, accumSteps: 1, outDir: path.join(dir, 'run'), progress: 'none' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
  return out;
}

/**
 * The whole comparison. Returns {adapter: null, reason} when Dawn finds no GPU adapter. `backend` is the
 * backend under test: 'webgpu', or 'cpu' (the native kernels against tfjs's JS ones, to try this script
 * on a machine without a GPU).
 * @param {{presets?: string[], backend?: 'webgpu' | 'cpu'}} [o]
 */
async function runCoverage(o = {}) {
  const presets = o.presets ?? DEFAULT_PRESETS;
  const backend = o.backend ?? 'webgpu';
  const lib = loadLib();
  const start = () => (backend === 'cpu' ? lib.initBackend('cpu', { native: true }) : lib.initBackend('webgpu'));
  let adapter;
  try {
    adapter = (await start()).device;
  } catch (err) {
    return { adapter: null, reason: errorLine(err) };
  }
  const fails = /** @type {{backend: string, preset: string, phase: string, error: string}[]} */ ([]);
  await lib.initBackend('cpu', { native: false });
  /** @type {Record<string, any>} */
  const weights = {};
  /** @type {Record<string, any>} */
  const ref = {};
  for (const preset of presets) {
    weights[preset] = makeWeights(lib, lib.resolveConfig(preset), 1);
    ref[preset] = await computeCase(lib, preset, weights[preset], (phase, err) => fails.push({ backend: 'cpu', preset, phase, error: errorLine(err) }));
  }
  await start();
  const rec = recordKernels();
  /** @type {any[]} */
  const cases = [];
  try {
    for (const preset of presets) {
      const t0 = performance.now();
      const fail = (/** @type {string} */ phase, /** @type {unknown} */ err) => fails.push({ backend, preset, phase, error: errorLine(err) });
      const scope = gpuErrorScope();
      const got = await computeCase(lib, preset, weights[preset], fail);
      const gpuError = await scope.end();
      if (gpuError) fail('gpu validation', gpuError);
      cases.push(compareCase(lib, preset, got, ref[preset], (performance.now() - t0) / 1000));
    }
  } finally {
    rec.undo();
  }
  const limits = /** @type {any} */ (tf.backend()).device?.limits;
  const deviceLimits = limits
    ? Object.fromEntries(['maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'].map((k) => [k, limits[k]]))
    : null;
  const syncReads = await probeSyncReads(lib);
  const largeLoss = await largeCrossEntropy(lib);
  const ok = fails.length === 0 && cases.every((c) => c.ok) && largeLoss.ok;
  return {
    backend,
    adapter,
    deviceLimits,
    ok,
    tolerances: { rel: REL_TOL, stepInLr: STEP_TOL_LR },
    shapes: { batch: B, seq: T, prefill: PREFILL, weightScale: WEIGHT_SCALE },
    cases,
    failed: fails,
    largeLoss,
    kernels: { used: rec.used, ranOnCpu: rec.onCpu, missingOnWebgpu: missingOnWebgpu(rec.used) },
    syncReads,
  };
}

/**
 * The per-row cross-entropy of logits with more elements than f32 holds integers exactly (2^24): the
 * backend's loss against float64 on the host, for the default path (WebGPU: its shaders), the per-row ops
 * path, and the flat-index ops path (reported, not checked: on WebGPU its indices round through f32).
 * @param {any} lib
 */
async function largeCrossEntropy(lib) {
  const [N, V] = [2048, 10000]; // 20.5M elements
  const logits = tf.tidy(() => tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', 11), 3));
  const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7919 + 11) % V), 'int32');
  const x = /** @type {Float32Array} */ (await logits.data());
  const t = /** @type {Int32Array} */ (await targets.data());
  const exact = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, x[i * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[i * V + j] - m);
    exact[i] = m + Math.log(s) - x[i * V + t[i]];
  }
  /** @param {tf.Tensor} y */
  const worst = async (y) => {
    const v = await y.data();
    y.dispose();
    let w = 0;
    for (let i = 0; i < N; i++) w = Math.max(w, Math.abs(v[i] - exact[i]));
    return w;
  };
  const defaultPath = await worst(lib.crossEntropyRows(logits, targets));
  const perRow = await worst(lib.crossEntropyOps(logits, targets));
  const flat = await worst(lib.crossEntropyOps(logits, targets, Infinity));
  tf.dispose([logits, targets]);
  const tol = 1e-4;
  return { rows: N, vocab: V, maxAbsErr: { default: defaultPath, perRowOps: perRow, flatOps: flat }, tol, ok: defaultPath < tol && perRow < tol };
}

/**
 * @param {any} lib @param {string} preset @param {any} got @param {any} ref @param {number} seconds
 */
function compareCase(lib, preset, got, ref, seconds) {
  const c = { preset, attention: lib.resolveConfig(preset).attention, seconds, ok: true, checks: /** @type {any[]} */ ([]) };
  /** @param {string} what @param {{rel: number}} d @param {number} tol */
  const check = (what, d, tol) => {
    const pass = d.rel <= tol;
    c.ok &&= pass;
    c.checks.push({ what, ...d, tol, pass });
  };
  const missing = /** @param {string} what */ (what) => {
    c.ok = false;
    c.checks.push({ what, pass: false, error: 'not computed (see failed)' });
  };
  if (got.logits && ref.logits) check('logits', diff(got.logits, ref.logits), REL_TOL);
  else missing('logits');
  for (const mode of Object.keys(ref.decode)) {
    if (!got.decode[mode]) {
      missing(`decode:${mode}`);
      continue;
    }
    check(`decode:${mode} vs cpu`, diff(got.decode[mode], ref.decode[mode]), REL_TOL);
    if (got.logits) check(`decode:${mode} vs own forward`, diff(got.decode[mode], got.logits), REL_TOL);
  }
  if (got.loss !== undefined && ref.loss !== undefined) {
    check('loss', { maxAbsDiff: Math.abs(got.loss - ref.loss), refMaxAbs: Math.abs(ref.loss), rel: Math.abs(got.loss - ref.loss) / Math.abs(ref.loss) }, REL_TOL);
  } else missing('loss');
  if (got.grads && ref.grads) check('grads (worst tensor)', worstOf(got.grads, ref.grads), REL_TOL);
  else missing('grads');
  if (got.gradNorm !== undefined && ref.gradNorm !== undefined) {
    const d = Math.abs(got.gradNorm - ref.gradNorm);
    check('global gradient norm', { maxAbsDiff: d, refMaxAbs: ref.gradNorm, rel: d / ref.gradNorm }, REL_TOL);
  } else missing('global gradient norm');
  if (got.updated && ref.updated) {
    const w = worstOf(got.updated, ref.updated);
    // Parameters move by about lr in one AdamW step: measure their difference in units of lr.
    check('params after one AdamW step (in lr)', { name: w.name, maxAbsDiff: w.maxAbsDiff, refMaxAbs: LR, rel: w.maxAbsDiff / LR }, STEP_TOL_LR);
  } else missing('updated params');
  if (got.movedAfterNaN !== undefined) {
    check('a NaN loss leaves the parameters (elements changed)', { maxAbsDiff: got.movedAfterNaN, refMaxAbs: 0, rel: got.movedAfterNaN }, 0);
  }
  return c;
}

const HELP = `usage: node scripts/device/coverage.js [--presets a,b,...] [--backend webgpu|cpu] [--out FILE]
Compares webgpu (or, with --backend cpu, the native CPU kernels) with tfjs's cpu kernels on one training step and cached decoding in every cache mode (tiny presets).
Prints JSON (or writes FILE); {"adapter": null, ...} without a GPU adapter. Exit code 1 when a check fails.`;

if (require.main === module) {
  runMain(async () => {
    const v = flags(process.argv.slice(2), { presets: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string', default: 'webgpu' } }, HELP);
    if (v.backend !== 'webgpu' && v.backend !== 'cpu') throw new Error(`--backend '${v.backend}': expected webgpu or cpu`);
    const report = await runCoverage({ presets: v.presets ? String(v.presets).split(',') : undefined, backend: v.backend });
    emit(report, v.out);
    return report.adapter === null || report.ok ? 0 : 1;
  });
}

module.exports = { DEFAULT_PRESETS, REL_TOL, STEP_TOL_LR, gpuErrorScope, runCoverage, staticCoverage };
