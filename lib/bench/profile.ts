// Time per training step of the stand-in transformer, and where it goes: tf.profile's time per kernel,
// summed by kernel name. Kernels called inside other kernels (the JS Softmax calls Max, Sub, Exp, ...)
// are counted in their caller; custom-gradient ops (logSoftmax) appear under their op name.
import * as tf from '@tensorflow/tfjs-core';
import { type StandinConfig, createStandin, standinBatch, standinStep } from './standin-model';
import { median } from '../experiments/stats';

export interface ProfileOptions {
  model: StandinConfig;
  /** Untimed steps first (the first one also faults in every buffer's memory). */
  warmup: number;
  /** Timed steps. */
  steps: number;
}

export interface KernelShare {
  kernel: string;
  ms: number;
  calls: number;
  /** Fraction of the summed kernel time. */
  share: number;
}

export interface ProfileResult {
  /** Median over the timed steps, milliseconds, forward + backward. */
  stepMs: number;
  stepsMs: number[];
  loss: number;
  /** One extra, profiled step: the kernels by total time, largest first. */
  kernels: KernelShare[];
  kernelMsTotal: number;
  /** Resident memory after the timed steps, MiB (the allocator tuning keeps freed memory in it). */
  rssMiB: number;
}

export const PROFILE_DEFAULTS: Omit<ProfileOptions, 'model'> = { warmup: 1, steps: 3 };

export async function runStepProfile(opts: ProfileOptions): Promise<ProfileResult> {
  const model = createStandin(opts.model);
  const { ids, targets } = standinBatch(opts.model, opts.model.seed + 100);
  try {
    let loss = NaN;
    for (let i = 0; i < opts.warmup; i++) loss = standinStep(model, ids, targets);
    const stepsMs: number[] = [];
    for (let i = 0; i < opts.steps; i++) {
      const t0 = performance.now();
      loss = standinStep(model, ids, targets);
      stepsMs.push(performance.now() - t0);
    }
    const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    const info = await tf.profile(() => {
      standinStep(model, ids, targets);
    });
    const byName = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
      entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      entry.calls += 1;
      byName.set(k.name, entry);
    }
    const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
    const kernels = [...byName.entries()]
      .map(([kernel, e]) => ({ kernel, ms: e.ms, calls: e.calls, share: total > 0 ? e.ms / total : 0 }))
      .sort((p, q) => q.ms - p.ms);
    return { stepMs: median(stepsMs), stepsMs, loss, kernels, kernelMsTotal: total, rssMiB };
  } finally {
    tf.dispose([ids, targets]);
    model.dispose();
  }
}
