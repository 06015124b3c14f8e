// Where a training step of a real model goes: the time of each phase (forward, forward + backward, the AdamW
// update), each ended by reading a small result so that the device has finished, and tf.profile's kernels of
// one forward + backward summed by kernel name (GPU time where the backend has timestamp queries), with the
// matrix products split by input shapes. Kernels called inside other kernels (the JS Softmax calls Max, Sub,
// Exp, ...) are counted in their caller; custom-gradient ops appear under their op name.
// Shape legend: B batch, T time.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { type Spread, median, spread } from '../experiments/stats';
import { createModel } from '../model/gpt';
import type { LanguageModel } from '../model/types';
import { AdamW } from '../train/adamw';
import { DEFAULT_TRAIN_OPTIONS } from '../train/options';
import { globalNorm } from '../train/grads';
import { RandomTokens } from './random-tokens';

export interface KernelShare {
  kernel: string;
  ms: number;
  calls: number;
  /** Fraction of the summed kernel time. */
  share: number;
}

export interface MatMulShare {
  /** The inputs' shapes, as JSON. */
  shapes: string;
  ms: number;
  calls: number;
}

export interface StepProfile {
  /** Seconds per phase over `reps` repetitions. */
  forwardSeconds: Spread;
  forwardBackwardSeconds: Spread;
  /** One AdamW update of every parameter (zero gradients, lr 0: the parameters do not move). */
  adamwSeconds: Spread;
  /** The kernels of one profiled forward + backward, by total time, largest first. */
  kernels: KernelShare[];
  kernelMsTotal: number;
  kernelCalls: number;
  /** Kernels that reported a time (all on cpu; on webgpu only with timestamp queries). */
  timedKernels: number;
  matMulsByShape: MatMulShare[];
  /**
   * The other timed kernels by name and input shapes (`shapes` "Name [[…],[…]]"), largest time first, at most
   * OTHER_SHAPES_LISTED: which tensors the small kernels (sums, adds, slices) walk over.
   */
  othersByShape: MatMulShare[];
  peakBytes: number;
}

/** Entries of StepProfile.othersByShape kept. */
export const OTHER_SHAPES_LISTED = 60;

export interface StepBatch {
  ids: Int32Array;
  targets: Int32Array;
  batch: number;
  seqLen: number;
}

/** The phases and kernels of a training step of `model` on one batch (B·T ids and targets), with the trainer's dropout. */
export async function profileStep(model: LanguageModel, b: StepBatch, reps = 3): Promise<StepProfile> {
  const ids = tf.tensor2d(b.ids, [b.batch, b.seqLen], 'int32'); // (B, T)
  const targets = tf.tensor2d(b.targets, [b.batch, b.seqLen], 'int32'); // (B, T)
  const names = Object.keys(model.params);
  const vars = names.map((n) => model.params[n]);
  const lossFn = () => model.loss(ids, targets, { training: true, dropoutSeed: 1 });
  const timed = async (f: () => Promise<void>) => {
    const s: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await f();
      s.push((performance.now() - t0) / 1000);
    }
    return spread(s);
  };
  const o = DEFAULT_TRAIN_OPTIONS;
  const adam = new AdamW(model.params, { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  const zeros = Object.fromEntries(names.map((n) => [n, tf.zerosLike(model.params[n])]));
  try {
    const forwardSeconds = await timed(async () => {
      const l = tf.tidy(lossFn);
      await l.data();
      l.dispose();
    });
    const forwardBackwardSeconds = await timed(async () => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const n = globalNorm(grads);
      await n.data();
      tf.dispose([value, n, ...Object.values(grads)]);
    });
    const adamwSeconds = await timed(async () => {
      adam.apply(zeros, 0, 1);
      await model.params[names[0]].data();
    });
    const info = await tf.profile(async () => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    });
    const kernels = kernelTimes(info.kernels);
    const total = kernels.reduce((s, e) => s + e.ms, 0);
    const isMatMul = (k: ProfiledKernel) => k.name === 'BatchMatMul' || k.name === '_FusedMatMul';
    const matMuls = info.kernels.filter(isMatMul);
    // Reshapes and identities move no data; the rest is what the small kernels cost.
    const others = info.kernels.filter((k) => !isMatMul(k) && k.name !== 'Reshape' && k.name !== 'Identity');
    return {
      forwardSeconds,
      forwardBackwardSeconds,
      adamwSeconds,
      kernels: kernels.map((e) => ({ ...e, share: total > 0 ? e.ms / total : 0 })),
      kernelMsTotal: total,
      kernelCalls: info.kernels.length,
      timedKernels: info.kernels.filter((k) => typeof k.kernelTimeMs === 'number').length,
      matMulsByShape: kernelTimes(matMuls, (k) => JSON.stringify(k.inputShapes)).map(({ kernel, ...e }) => ({ shapes: kernel, ...e })),
      othersByShape: kernelTimes(others, (k) => `${k.name} ${JSON.stringify(k.inputShapes)}`)
        .slice(0, OTHER_SHAPES_LISTED)
        .map(({ kernel, ...e }) => ({ shapes: kernel, ...e })),
      peakBytes: info.peakBytes,
    };
  } finally {
    adam.dispose();
    tf.dispose([ids, targets, ...Object.values(zeros)]);
  }
}

/** A profiled kernel as tf.profile lists it: its time is a number where the backend timed it (GPU time on WebGPU with timestamp queries). */
export interface ProfiledKernel {
  name: string;
  kernelTimeMs: unknown;
  inputShapes: unknown;
}

/** Time and calls per kernel name (or per `key`), largest time first; untimed kernels count 0 ms. */
export function kernelTimes(kernels: readonly ProfiledKernel[], key: (k: ProfiledKernel) => string = (k) => k.name): { kernel: string; ms: number; calls: number }[] {
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const e = by.get(key(k)) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    by.set(key(k), e);
  }
  return [...by.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((p, q) => q.ms - p.ms || q.calls - p.calls);
}

export interface ProfileOptions {
  /** Rows and tokens per row of the profiled batch. */
  batch: number;
  seqLen: number;
  /** Untimed forward + backward passes first (the first compiles shaders and faults in memory)... */
  warmup: number;
  /** ...then timed ones; also the repetitions of each phase. */
  steps: number;
  seed: number;
}

export const PROFILE_DEFAULTS = { preset: '35m-mla-rope', batch: 8, warmup: 1, steps: 3, seed: 0 } as const;

export interface ProfileResult extends StepProfile {
  parameters: number;
  /** Median seconds of forward + backward (all parameter gradients) over the timed passes, in ms. */
  stepMs: number;
  stepsMs: number[];
  loss: number;
  /** Resident memory after the timed passes, MiB (the allocator tuning keeps freed memory in it). */
  rssMiB: number;
}

/** Profiles a training step of a model of `config` (seeded init) on random tokens. */
export async function runStepProfile(config: ModelConfig, opts: ProfileOptions): Promise<ProfileResult> {
  const model = createModel(config, opts.seed);
  const source = new RandomTokens(config.vocabSize, opts.seed + 1);
  const b = { ...source.next(opts.batch, opts.seqLen), batch: opts.batch, seqLen: opts.seqLen };
  const ids = tf.tensor2d(b.ids, [b.batch, b.seqLen], 'int32');
  const targets = tf.tensor2d(b.targets, [b.batch, b.seqLen], 'int32');
  const vars = Object.values(model.params);
  try {
    let loss = NaN;
    const pass = async () => {
      const { value, grads } = tf.variableGrads(() => model.loss(ids, targets, { training: true, dropoutSeed: 1 }), vars);
      loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
    };
    for (let i = 0; i < opts.warmup; i++) await pass();
    const stepsMs: number[] = [];
    for (let i = 0; i < opts.steps; i++) {
      const t0 = performance.now();
      await pass();
      stepsMs.push(performance.now() - t0);
    }
    const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    const phases = await profileStep(model, b, opts.steps);
    const parameters = vars.reduce((a, v) => a + v.size, 0);
    return { parameters, stepMs: median(stepsMs), stepsMs, loss, rssMiB, ...phases };
  } finally {
    tf.dispose([ids, targets]);
    model.dispose();
  }
}
