// Trainer defaults (the original's optimizer settings) and the checks every option passes before a run starts.
import { LrSchedule, cosineSchedule, originalSchedule } from '../costs/lr-schedule';
import { TrainingError } from './errors';
import type { TrainOptions } from './types';

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'tokens' | 'outDir'> = {
  batchSize: 12,
  seqLen: 1024,
  accumSteps: 4,
  lr: 6e-4,
  schedule: 'cosine',
  minLrRatio: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  clipNorm: 1.0,
  seed: 0,
  resume: false,
  evalEvery: 0,
  evalTokens: 0,
  checkpointEvery: 0,
  keepCheckpoints: 2,
  // 20, not 5: on the H200 every 35M model at 1.2e-3 spikes above ln(V) + 2 at steps 10–14 of its 25-step warm-up
  // and recovers (MHA 4 steps, GQA at 1 KV head 4); GQA at 2, 4 and 8 KV heads spent a 5th step there and were
  // stopped (data/experiments/gpu/35m-gqa-rope-seed0-*, 2026-12-03). 20 steps cost a 35M run ~2 s, a ~300M ~15 s.
  divergenceSteps: 20,
  progress: 'auto',
  logEvery: 10,
};

/** The options that decide the trajectory: a resumed run must use the same values. */
export const TRAJECTORY_OPTIONS = [
  'tokens', 'batchSize', 'seqLen', 'accumSteps', 'lr', 'warmupSteps', 'schedule', 'minLrRatio',
  'beta1', 'beta2', 'eps', 'weightDecay', 'clipNorm', 'seed',
] as const;

function bad(field: string, value: unknown, want: string): TrainingError {
  return new TrainingError(`invalid training option ${field} = ${JSON.stringify(value)}; ${want}`);
}

/** Defaults filled in and every value checked against the model's maxSeqLen. */
export function resolveTrainOptions(opts: Partial<TrainOptions> & Pick<TrainOptions, 'tokens' | 'outDir'>, maxSeqLen: number): TrainOptions {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...dropUndefined(opts) } as TrainOptions;
  const posInt = (f: keyof TrainOptions) => {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(f, v, 'must be a positive integer');
  };
  const nonNegInt = (f: keyof TrainOptions) => {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(f, v, 'must be a non-negative integer (0 = off)');
  };
  for (const f of ['tokens', 'batchSize', 'seqLen', 'accumSteps', 'logEvery', 'keepCheckpoints'] as const) posInt(f);
  for (const f of ['evalEvery', 'evalTokens', 'checkpointEvery', 'divergenceSteps'] as const) nonNegInt(f);
  if (o.seqLen > maxSeqLen) throw bad('seqLen', o.seqLen, `must be at most the model's maxSeqLen (${maxSeqLen}); lower --seq or raise maxSeqLen`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad('lr', o.lr, 'must be a positive number');
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 1)) {
    throw bad('warmupSteps', o.warmupSteps, 'must be a positive integer');
  }
  if (o.schedule !== 'cosine' && o.schedule !== 'original') throw bad('schedule', o.schedule, "use 'cosine' or 'original'");
  if (o.schedule === 'original' && opts.warmupSteps !== undefined) {
    throw bad('warmupSteps', o.warmupSteps, "the 'original' schedule sizes its own warm-up; drop --warmup-steps or use --schedule cosine");
  }
  if (!(o.minLrRatio >= 0 && o.minLrRatio <= 1)) throw bad('minLrRatio', o.minLrRatio, 'must be in [0, 1]');
  for (const f of ['beta1', 'beta2'] as const) if (!(o[f] >= 0 && o[f] < 1)) throw bad(f, o[f], 'must be in [0, 1)');
  if (!(o.eps > 0)) throw bad('eps', o.eps, 'must be positive');
  if (!(o.weightDecay >= 0)) throw bad('weightDecay', o.weightDecay, 'must be ≥ 0');
  if (!(o.clipNorm >= 0)) throw bad('clipNorm', o.clipNorm, 'must be ≥ 0 (0 disables clipping)');
  if (!Number.isInteger(o.seed) || o.seed < 0) throw bad('seed', o.seed, 'must be a non-negative integer');
  if (!['auto', 'bar', 'lines', 'none'].includes(o.progress)) throw bad('progress', o.progress, "use 'auto', 'bar', 'lines' or 'none'");
  if (!o.outDir) throw bad('outDir', o.outDir, 'name the run folder');
  return o;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function tokensPerStep(o: TrainOptions): number {
  return o.batchSize * o.seqLen * o.accumSteps;
}

/** Optimizer steps of the run: enough to see at least `tokens` tokens. */
export function totalSteps(o: TrainOptions): number {
  return Math.ceil(o.tokens / tokensPerStep(o));
}

export function scheduleFor(o: TrainOptions): LrSchedule {
  const steps = totalSteps(o);
  return o.schedule === 'original' ? originalSchedule(steps, o.lr, o.minLrRatio) : cosineSchedule(steps, o.lr, o.warmupSteps, o.minLrRatio);
}
