// Kernel coverage of the WebGPU backend. For every attention kind (tiny presets) it computes, from the same
// weights on tfjs's cpu kernels and on the backend under test: the logits of a full forward, one training step
// (loss with dropout, every gradient, the global norm, one AdamW update, and that a NaN loss leaves the
// parameters alone) and cached decoding in every cache mode (a prefill, then single tokens), and reports the
// largest differences. It also lists the kernels that ran, any that tfjs-backend-webgpu lacks, the ones the
// webgpu backend ran on the CPU (small inputs still on the host), the library entry points that once read
// synchronously, and a cross-entropy larger than f32 holds integers exactly. The GPU work of each case runs in
// a Dawn error scope: a dropped command buffer (results read as zeros) is a failure, not a pass.
// staticCoverage() is the part that needs no GPU: the kernels a cpu run uses, against those webgpu registers.
// Shape legend: B batch, T time, V vocabulary, N rows.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { gpuErrorScope, initBackend } from '../backend';
import { resolveConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { type CacheMode, cacheModesFor } from '../costs/cache-modes';
import { perplexity } from '../eval/perplexity';
import { decodeCostAt } from '../experiments/timing';
import { generate } from '../generate/generate';
import { crossEntropyOps, crossEntropyRows } from '../model/fast-grads';
import { GPT, createModel } from '../model/gpt';
import { initRule } from '../model/init';
import { AdamW } from '../train/adamw';
import { SamplerSource } from '../train/data';
import { globalNorm } from '../train/grads';
import { train } from '../train/trainer';
import { errorLine } from './train';
import { CACHE_WRITE_KERNEL } from '../ops';

export const COVERAGE_PRESETS = [
  'tiny-mha-rope', 'tiny-mha-norope', 'tiny-gqa-rope', 'tiny-mqa-rope',
  'tiny-mla-rope', 'tiny-mla-norope', 'tiny-mha-decoupled-rope',
] as const;
const B = 2;
const T = 16;
/** Decoding feeds the first PREFILL tokens at once, then the rest one at a time. */
const PREFILL = 11;
const LR = 1e-3;
const DROPOUT_SEED = 11;
/**
 * The original's 0.01·N(0, 1) init leaves attention almost uniform, which would hide position bugs; the
 * comparison scales every normally-initialised weight up to 0.1·N(0, 1).
 */
const WEIGHT_SCALE = 10;

export const COVERAGE_TOLERANCES = {
  /**
   * Largest accepted difference relative to the reference's largest magnitude (fp32 on both sides; a wrong or
   * missing kernel gives errors of order 1).
   */
  rel: 1e-3,
  /**
   * Largest accepted parameter difference after one AdamW step, in units of the learning rate. The first step
   * moves each weight by lr·g/(|g| + eps): for gradients within a few eps of zero, float rounding differences in
   * g move it by a sizeable fraction of lr (0.07 lr was seen between cpu and webgpu); a wrong update moves it by ~lr.
   */
  stepInLr: 0.25,
  /** The large cross-entropy against float64. */
  largeLoss: 1e-4,
} as const;

type Weights = Record<string, { shape: number[]; values: Float32Array }>;
type Named = Record<string, Float32Array>;

interface CaseValues {
  logits?: Float32Array;
  decode: Partial<Record<CacheMode, Float32Array>>;
  loss?: number;
  gradNorm?: number;
  grads?: Named;
  updated?: Named;
  movedAfterNaN?: number;
}

export interface CoverageCheck {
  what: string;
  pass: boolean;
  name?: string;
  maxAbsDiff?: number;
  refMaxAbs?: number;
  rel?: number;
  tol?: number;
  error?: string;
}

export interface CoverageCase {
  preset: string;
  attention: ModelConfig['attention'];
  seconds: number;
  ok: boolean;
  checks: CoverageCheck[];
}

export interface PhaseFailure {
  backend: string;
  preset: string;
  phase: string;
  error: string;
}

export interface LargeLossCheck {
  rows: number;
  vocab: number;
  maxAbsErr: { default: number; perRowOps: number; flatOps: number };
  tol: number;
  ok: boolean;
  /** A Dawn error during the check, or null. */
  gpuError: string | null;
}

export type CoverageReport =
  | { adapter: null; reason: string; ok?: undefined }
  | {
      backend: 'webgpu' | 'cpu';
      adapter: string;
      deviceLimits: Record<string, number> | null;
      ok: boolean;
      tolerances: typeof COVERAGE_TOLERANCES;
      shapes: { batch: number; seq: number; prefill: number; weightScale: number };
      cases: CoverageCase[];
      failed: PhaseFailure[];
      largeLoss: LargeLossCheck;
      kernels: { used: Record<string, number>; ranOnCpu: Record<string, number>; missingOnWebgpu: string[] };
      syncReads: Record<string, string>;
    };

/** Deterministic ids (B, T) and their next-token targets. */
function batchIds(V: number): { ids: number[][]; targets: number[][] } {
  const ids: number[][] = [];
  const targets: number[][] = [];
  for (let b = 0; b < B; b++) {
    const row = Array.from({ length: T + 1 }, (_, t) => (b * 131 + t * t * 17 + 3) % V);
    ids.push(row.slice(0, T));
    targets.push(row.slice(1));
  }
  return { ids, targets };
}

/** Weights as plain arrays, from the library's seeded init on the active backend, scaled up. */
async function makeWeights(config: ModelConfig, seed: number): Promise<Weights> {
  const model = createModel(config, seed);
  const out: Weights = {};
  try {
    for (const [name, p] of Object.entries(model.params)) {
      const v = ((await p.data()) as Float32Array).slice();
      if (initRule(name) === 'normal') for (let i = 0; i < v.length; i++) v[i] *= WEIGHT_SCALE;
      out[name] = { shape: p.shape, values: v };
    }
  } finally {
    model.dispose();
  }
  return out;
}

function buildModel(config: ModelConfig, weights: Weights): GPT {
  const params: Record<string, tf.Variable> = {};
  for (const [name, w] of Object.entries(weights)) params[name] = tf.variable(tf.tensor(w.values, w.shape, 'float32'), true);
  return new GPT(config, params);
}

/** Reads a tensor asynchronously (Dawn in Node serves no dataSync) and disposes it. */
async function take(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Logits (B, T, V) of a prefill of PREFILL tokens then one token at a time, in cache mode `mode`. */
async function decodeAll(model: GPT, ids: number[][], mode: CacheMode): Promise<Float32Array> {
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

/**
 * Everything the comparison needs, computed on the active backend. Each phase catches its own failure, so one
 * broken kernel does not hide the others.
 */
async function computeCase(preset: string, weights: Weights, fail: (phase: string, err: unknown) => void): Promise<CaseValues> {
  const config = resolveConfig(preset);
  const model = buildModel(config, weights);
  const { ids, targets } = batchIds(config.vocabSize);
  const out: CaseValues = { decode: {} };
  const idsT = tf.tensor2d(ids, [B, T], 'int32');
  const targetsT = tf.tensor2d(targets, [B, T], 'int32');
  try {
    try {
      out.logits = await take(model.logits(idsT)); // (B, T, V)
    } catch (err) {
      fail('forward', err);
    }
    for (const mode of ['none', ...cacheModesFor(config)] as CacheMode[]) {
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
      const named: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(grads)) named[nameOf.get(vn) ?? vn] = g;
      out.grads = {};
      for (const [n, g] of Object.entries(named)) out.grads[n] = (await g.data()) as Float32Array;
      // The trainer's step statistics: tf.addN over the losses and the global norm (an AddN over one
      // square-sum per parameter, more inputs than one WebGPU shader may bind).
      const stats = tf.tidy(() => tf.stack([tf.div(tf.addN([value, value]), 2), globalNorm(named)])); // [mean loss, norm]
      out.gradNorm = (await stats.data())[1];
      // The AdamW the trainer uses, in its backend's default form (fused JS on cpu; on webgpu in place, with the
      // clip factor and finite check read from the step's statistics on the device; maxNorm 0: no clipping).
      const adam = new AdamW(model.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
      const nanStats = tf.tensor1d([NaN, out.gradNorm]);
      try {
        if (!adam.applyDeviceClipped(named, LR, 1, stats, 0)) adam.apply(named, LR, 1);
        const updated: Named = {};
        for (const n of names) updated[n] = ((await model.params[n].data()) as Float32Array).slice();
        out.updated = updated;
        // A NaN loss: an update recorded before the host sees it must leave every parameter as it was.
        if (adam.applyDeviceClipped(named, LR, 1, nanStats, 1)) {
          adam.discardStep();
          let moved = 0;
          for (const n of names) {
            const now = (await model.params[n].data()) as Float32Array;
            for (let i = 0; i < now.length; i++) if (now[i] !== updated[n][i]) moved++;
          }
          out.movedAfterNaN = moved;
        }
      } finally {
        adam.dispose();
        tf.dispose([value, stats, nanStats, ...Object.values(named)]);
      }
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

interface Diff {
  maxAbsDiff: number;
  refMaxAbs: number;
  rel: number;
}

/** Largest |a − b| and the reference's largest |b|; a length mismatch or a NaN is an infinite difference. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): Diff {
  let maxAbsDiff = 0;
  let refMaxAbs = 0;
  let nan = false;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) nan = true;
    else maxAbsDiff = Math.max(maxAbsDiff, d);
    refMaxAbs = Math.max(refMaxAbs, Math.abs(b[i]));
  }
  if (a.length !== b.length || nan) maxAbsDiff = Infinity;
  return { maxAbsDiff, refMaxAbs, rel: maxAbsDiff / Math.max(refMaxAbs, 1e-30) };
}

/**
 * The worst tensor of two named sets; each tensor's difference is relative to its own largest value, floored at
 * 1e-3 of the largest value over all tensors (a tensor of near-zero gradients would otherwise divide by ~0).
 */
export function worstOf(got: Named, ref: Named): Diff & { name: string } {
  let all = 0;
  for (const v of Object.values(ref)) for (let i = 0; i < v.length; i++) all = Math.max(all, Math.abs(v[i]));
  let worst = { name: '', maxAbsDiff: 0, refMaxAbs: 0, rel: 0 };
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    const d = g ? maxDiff(g, r) : { maxAbsDiff: Infinity, refMaxAbs: 0, rel: Infinity };
    const rel = d.maxAbsDiff / Math.max(d.refMaxAbs, 1e-3 * all, 1e-30);
    if (!(rel <= worst.rel)) worst = { name, ...d, rel };
  }
  return worst;
}

/** The checks of one case: the backend under test (`got`) against tfjs's cpu kernels (`ref`). */
export function compareCase(preset: string, got: CaseValues, ref: CaseValues, seconds: number): CoverageCase {
  const c: CoverageCase = { preset, attention: resolveConfig(preset).attention, seconds, ok: true, checks: [] };
  const tol = COVERAGE_TOLERANCES;
  const check = (what: string, d: Diff & { name?: string }, limit: number) => {
    const pass = d.rel <= limit;
    c.ok &&= pass;
    c.checks.push({ what, ...d, tol: limit, pass });
  };
  const missing = (what: string) => {
    c.ok = false;
    c.checks.push({ what, pass: false, error: 'not computed (see failed)' });
  };
  if (got.logits && ref.logits) check('logits', maxDiff(got.logits, ref.logits), tol.rel);
  else missing('logits');
  for (const mode of Object.keys(ref.decode) as CacheMode[]) {
    const g = got.decode[mode];
    if (!g) {
      missing(`decode:${mode}`);
      continue;
    }
    check(`decode:${mode} vs cpu`, maxDiff(g, ref.decode[mode]!), tol.rel);
    if (got.logits) check(`decode:${mode} vs own forward`, maxDiff(g, got.logits), tol.rel);
  }
  if (got.loss !== undefined && ref.loss !== undefined) {
    const d = Math.abs(got.loss - ref.loss);
    check('loss', { maxAbsDiff: d, refMaxAbs: Math.abs(ref.loss), rel: Number.isNaN(d) ? Infinity : d / Math.abs(ref.loss) }, tol.rel);
  } else missing('loss');
  if (got.grads && ref.grads) check('grads (worst tensor)', worstOf(got.grads, ref.grads), tol.rel);
  else missing('grads');
  if (got.gradNorm !== undefined && ref.gradNorm !== undefined) {
    const d = Math.abs(got.gradNorm - ref.gradNorm);
    check('global gradient norm', { maxAbsDiff: d, refMaxAbs: ref.gradNorm, rel: Number.isNaN(d) ? Infinity : d / ref.gradNorm }, tol.rel);
  } else missing('global gradient norm');
  if (got.updated && ref.updated) {
    const w = worstOf(got.updated, ref.updated);
    // Parameters move by about lr in one AdamW step: measure their difference in units of lr.
    check('params after one AdamW step (in lr)', { name: w.name, maxAbsDiff: w.maxAbsDiff, refMaxAbs: LR, rel: w.maxAbsDiff / LR }, tol.stepInLr);
  } else missing('updated params');
  if (got.movedAfterNaN !== undefined) {
    check('a NaN loss leaves the parameters (elements changed)', { maxAbsDiff: got.movedAfterNaN, refMaxAbs: 0, rel: got.movedAfterNaN }, 0);
  }
  return c;
}

/**
 * Wraps the engine's runKernel to count kernels by name; with a webgpu backend, also records the kernels its
 * CPU hand-off ran. Returns the counts and an undo function.
 */
function recordKernels(): { used: Record<string, number>; onCpu: Record<string, number>; undo(): void } {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const used: Record<string, number> = {};
  const onCpu: Record<string, number> = {};
  let current = '';
  const original = engine.runKernel;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    used[name] = (used[name] ?? 0) + 1;
    const outer = current;
    current = name;
    try {
      return original.call(this, name, ...rest);
    } finally {
      current = outer;
    }
  };
  const backend = tf.backend() as unknown as { shouldExecuteOnCPU?: (...args: unknown[]) => boolean };
  const handoff = typeof backend.shouldExecuteOnCPU === 'function' ? backend.shouldExecuteOnCPU : null;
  if (handoff) {
    backend.shouldExecuteOnCPU = function (this: unknown, ...args: unknown[]) {
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
 * Kernels of lib/ops that a cpu run calls through the project's own cpu kernels: an op calls them only where
 * hasKernel finds them on the active backend, and runs its tfjs reference elsewhere, so webgpu never lacks them
 * (it registers its own, lib/backend/webgpu/register.ts, or takes the reference).
 */
const GUARDED_OP_KERNELS = new Set([CACHE_WRITE_KERNEL]);

/** Kernel names in `used` that tfjs-backend-webgpu does not register. */
function missingOnWebgpu(used: Record<string, number>): string[] {
  // Loading the package registers its kernels even where it cannot register the backend (no navigator.gpu).
  require('@tensorflow/tfjs-backend-webgpu');
  const have = new Set(tf.getKernelsForBackend('webgpu').map((k) => k.kernelName));
  return Object.keys(used).filter((k) => !have.has(k) && !GUARDED_OP_KERNELS.has(k)).sort();
}

export interface StaticCoverage {
  used: string[];
  missing: string[];
  failed: { preset: string; phase: string; error: string }[];
}

/**
 * The part that needs no GPU: runs every case on tfjs's cpu kernels and lists the kernels it used that webgpu
 * lacks. Call initBackend('webgpu') before this to use WebGPU later in the same process (this loads
 * tfjs-backend-webgpu, which registers its backend only if navigator.gpu already exists).
 */
export async function staticCoverage(presets: readonly string[] = COVERAGE_PRESETS): Promise<StaticCoverage> {
  await initBackend('cpu', { native: false });
  const rec = recordKernels();
  const failed: StaticCoverage['failed'] = [];
  try {
    for (const preset of presets) {
      const weights = await makeWeights(resolveConfig(preset), 1);
      await computeCase(preset, weights, (phase, err) => failed.push({ preset, phase, error: errorLine(err) }));
    }
  } finally {
    rec.undo();
  }
  return { used: Object.keys(rec.used).sort(), missing: missingOnWebgpu(rec.used), failed };
}

/**
 * Library entry points that once read results with dataSync, tried on a tiny model on the active backend: each
 * must give 'ok' (they read with await data() now). tfjs's own Tensor.dataSync is not tried: under Dawn in Node
 * it needs OffscreenCanvas, so no change to the library could make it pass.
 */
async function probeSyncReads(): Promise<Record<string, string>> {
  const config = resolveConfig('tiny-mla-rope');
  const model = createModel(config, 2);
  const out: Record<string, string> = {};
  const attempt = async (name: string, fn: () => unknown) => {
    const scope = gpuErrorScope();
    try {
      await fn();
      out[name] = 'ok';
    } catch (err) {
      out[name] = errorLine(err);
    }
    const gpuError = await scope.end();
    if (gpuError && out[name] === 'ok') out[name] = `GPU ${gpuError}`;
  };
  await attempt('decodeCostAt', () => decodeCostAt(model, 'absorbed', 4, 1, 0));
  await attempt('generate', () => generate(model, [[1, 2, 3]], { maxNewTokens: 2, cache: 'latent' }));
  await attempt('perplexity', () => perplexity(model, new Uint16Array(200).map((_, i) => (i * 37) % 512), { seqLen: 16, batchSize: 2 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-coverage-'));
  try {
    const tokens = new Int32Array(4096).map((_, i) => (i * 7919) % config.vocabSize);
    const data = { train: new SamplerSource(tokens, { batchSize: 2, seqLen: 16, seed: 1 }) };
    await attempt('train', () => train(model, data, { tokens: 32, batchSize: 2, seqLen: 16, accumSteps: 1, outDir: path.join(dir, 'run'), progress: 'none' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
  return out;
}

/**
 * The per-row cross-entropy of logits with more elements than f32 holds integers exactly (2^24): the backend's
 * loss against float64 on the host, for the default path (WebGPU: its shaders), the per-row ops path, and the
 * flat-index ops path (reported, not checked: on WebGPU its indices round through f32).
 */
async function largeCrossEntropy(): Promise<LargeLossCheck> {
  const [N, V] = [2048, 10000]; // 20.5M elements
  const scope = gpuErrorScope();
  const logits = tf.tidy(() => tf.mul(tf.randomNormal([N, V], 0, 1, 'float32', 11), 3)) as tf.Tensor2D; // (N, V)
  const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7919 + 11) % V), 'int32'); // (N)
  const x = (await logits.data()) as Float32Array;
  const t = (await targets.data()) as Int32Array;
  const exact = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, x[i * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[i * V + j] - m);
    exact[i] = m + Math.log(s) - x[i * V + t[i]];
  }
  const worst = async (y: tf.Tensor) => {
    const v = await take(y);
    let w = 0;
    for (let i = 0; i < N; i++) w = Math.max(w, Math.abs(v[i] - exact[i]));
    return Number.isNaN(w) ? Infinity : w;
  };
  let maxAbsErr: LargeLossCheck['maxAbsErr'];
  try {
    maxAbsErr = {
      default: await worst(crossEntropyRows(logits, targets)),
      perRowOps: await worst(crossEntropyOps(logits, targets)),
      flatOps: await worst(crossEntropyOps(logits, targets, Infinity)),
    };
  } finally {
    tf.dispose([logits, targets]);
  }
  const gpuError = await scope.end();
  const tol = COVERAGE_TOLERANCES.largeLoss;
  return { rows: N, vocab: V, maxAbsErr, tol, ok: gpuError === null && maxAbsErr.default < tol && maxAbsErr.perRowOps < tol, gpuError };
}

export interface CoverageOptions {
  presets?: readonly string[];
  /** The backend under test: 'webgpu', or 'cpu' (the native kernels against tfjs's JS ones, to try the check without a GPU). */
  backend?: 'webgpu' | 'cpu';
  /** Each case as it is compared. */
  onCase?: (c: CoverageCase) => void;
}

/** The whole comparison. Gives {adapter: null, reason} when the backend under test cannot start (no GPU adapter). */
export async function runCoverage(o: CoverageOptions = {}): Promise<CoverageReport> {
  const presets = o.presets ?? COVERAGE_PRESETS;
  const backend = o.backend ?? 'webgpu';
  const start = () => (backend === 'cpu' ? initBackend('cpu', { native: true }) : initBackend('webgpu'));
  let adapter: string;
  try {
    adapter = (await start()).device;
  } catch (err) {
    return { adapter: null, reason: errorLine(err) };
  }
  const fails: PhaseFailure[] = [];
  await initBackend('cpu', { native: false });
  const weights: Record<string, Weights> = {};
  const ref: Record<string, CaseValues> = {};
  for (const preset of presets) {
    weights[preset] = await makeWeights(resolveConfig(preset), 1);
    ref[preset] = await computeCase(preset, weights[preset], (phase, err) => fails.push({ backend: 'cpu', preset, phase, error: errorLine(err) }));
  }
  await start();
  const rec = recordKernels();
  const cases: CoverageCase[] = [];
  try {
    for (const preset of presets) {
      const t0 = performance.now();
      const fail = (phase: string, err: unknown) => fails.push({ backend, preset, phase, error: errorLine(err) });
      const scope = gpuErrorScope();
      const got = await computeCase(preset, weights[preset], fail);
      const gpuError = await scope.end();
      if (gpuError) fail('gpu error scope', gpuError);
      const c = compareCase(preset, got, ref[preset], (performance.now() - t0) / 1000);
      if (gpuError) c.ok = false;
      cases.push(c);
      o.onCase?.(c);
    }
  } finally {
    rec.undo();
  }
  const limits = (tf.backend() as unknown as { device?: { limits?: Record<string, number> } }).device?.limits;
  const deviceLimits = limits
    ? Object.fromEntries(['maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'].map((k) => [k, limits[k]]))
    : null;
  const syncReads = await probeSyncReads();
  const largeLoss = await largeCrossEntropy();
  const ok = fails.length === 0 && cases.every((c) => c.ok) && largeLoss.ok && Object.values(syncReads).every((v) => v === 'ok');
  return {
    backend,
    adapter,
    deviceLimits,
    ok,
    tolerances: COVERAGE_TOLERANCES,
    shapes: { batch: B, seq: T, prefill: PREFILL, weightScale: WEIGHT_SCALE },
    cases,
    failed: fails,
    largeLoss,
    kernels: { used: rec.used, ranOnCpu: rec.onCpu, missingOnWebgpu: missingOnWebgpu(rec.used) },
    syncReads,
  };
}
