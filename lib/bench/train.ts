// Training throughput through the library's own trainer: train() from lib/train, the step `mla train` and
// ensureRun take (micro-batches, gradient accumulation, global-norm clipping, AdamW on the scheduled learning
// rate, the trainer's dropout seeds, one metrics line per step), on a uint16 token file or on random tokens.
// tokens/s = B·T·A / step time, from the trainer's own per-step metrics; the spread is over the steps after the
// warm-up (the first steps compile shaders and grow the allocator). The GPU work runs inside a Dawn error
// scope, so a dropped command buffer (results read as zeros: a fast, wrong run) is reported, not timed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { type Spread, spread } from '../experiments/stats';
import { createModel } from '../model/gpt';
import { SamplerSource } from '../train/data';
import { DEFAULT_TRAIN_OPTIONS } from '../train/options';
import { train } from '../train/trainer';
import type { BatchSource, StepMetrics } from '../train/types';
import { type CpuProfileSummary, startCpuProfile, summarizeCpuProfile } from './cpu-profile';
import { gpuErrorScope } from '../backend';
import { type StepProfile, profileStep } from './profile';
import { RandomTokens } from './random-tokens';
import { BenchError } from './errors';

/** Steps kept after the warm-up even when --max-seconds has passed, so the median is never of one step. */
export const MIN_TIMED_STEPS = 3;

export interface TrainBenchSettings {
  /** Rows per micro-batch, tokens per row, micro-batches per optimizer step. */
  batch: number;
  seqLen: number;
  accum: number;
  /** Untimed steps first, then timed ones. */
  warmup: number;
  steps: number;
  /** Stop after this many seconds of training (keeping warmup + MIN_TIMED_STEPS steps); null: no cap. */
  maxSeconds: number | null;
  /** Peak learning rate of the trainer's cosine schedule over warmup + steps (default the trainer's, 6e-4). */
  lr: number;
  /** Seeds the init, the data order and the dropout stream. */
  seed: number;
  /** A file of little-endian uint16 token ids (scripts/device/pack.sh writes one); null: random tokens. */
  tokensFile: string | null;
  /** After the timed steps, the phases and kernels of one more step (profile.ts). */
  profile: boolean;
  /** Write a V8 CPU profile of the timed steps to this file, and its summary into the result. */
  cpuProfile: string | null;
}

export const TRAIN_BENCH_DEFAULTS: TrainBenchSettings = {
  batch: 8,
  seqLen: 1024,
  accum: 1,
  warmup: 3,
  steps: 30,
  maxSeconds: null,
  lr: DEFAULT_TRAIN_OPTIONS.lr,
  seed: 0,
  tokensFile: null,
  profile: false,
  cpuProfile: null,
};

export interface TrainBenchStep {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  seconds: number;
  tokensPerSec: number;
  /** GPU memory the backend holds, freed buffers included (null off WebGPU): growth after the first steps means new buffers. */
  gpuMiB: number | null;
}

export interface TrainBenchResult {
  parameters: number;
  tokensPerStep: number;
  data: { source: 'file'; file: string; tokens: number } | { source: 'random' };
  stepsRun: number;
  /** True when --max-seconds ended the run before warmup + steps. */
  cappedBySeconds: boolean;
  /** Over the steps after the warm-up; null when none were timed (an error before). */
  tokensPerSec: Spread | null;
  stepSeconds: Spread | null;
  firstStepSeconds: number | null;
  loss: { first: number | null; last: number | null; decreased: boolean };
  steps: TrainBenchStep[];
  profile: StepProfile | null;
  cpuProfile: CpuProfileSummary | null;
  /** The error that ended the run (a trainer error, a Dawn validation or out-of-memory error), or null. */
  error: string | null;
}

/** The first line of an error, for a record. */
export function errorLine(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]}`;
  return String(err);
}

/** Token ids of a uint16 file, each checked against the vocabulary. Throws a RangeError naming the file. */
export function readTokenFile(file: string, vocab: number): Uint16Array {
  if (!fs.existsSync(file)) throw new BenchError(`--tokens-file ${file} does not exist; pass a uint16 token file (data/tokens/*.train.u16, or .device/data/train-v10000.u16 from scripts/device/pack.sh)`);
  const buf = fs.readFileSync(file);
  if (buf.length % 2 !== 0) throw new BenchError(`--tokens-file ${file}: ${buf.length} bytes is not a whole number of uint16 ids`);
  const ids = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const over = ids.findIndex((id) => id >= vocab);
  if (over >= 0) throw new BenchError(`--tokens-file ${file}: id ${ids[over]} at ${over} is outside the model's vocabulary of ${vocab}; use the token file of that vocabulary size`);
  return ids;
}

function gpuMiB(): number | null {
  const held = (tf.memory() as { numBytesAllocatedInGPU?: unknown }).numBytesAllocatedInGPU;
  return typeof held === 'number' ? Math.round(held / 2 ** 20) : null;
}

/**
 * Trains a fresh model of `config` for warmup + steps optimizer steps through train() in a temporary run
 * folder (removed after) and returns the trainer's per-step timings. `onStep` sees each step as it ends.
 * Settings a user can get wrong (the token file, --seq) throw before any training.
 */
export async function runTrainBench(config: ModelConfig, s: TrainBenchSettings, onStep?: (st: TrainBenchStep) => void): Promise<TrainBenchResult> {
  if (s.seqLen > config.maxSeqLen) throw new BenchError(`--seq ${s.seqLen} exceeds the model's maxSeqLen ${config.maxSeqLen}; lower --seq or --set maxSeqLen=${s.seqLen}`);
  const tokens = s.tokensFile ? readTokenFile(s.tokensFile, config.vocabSize) : null;
  if (tokens && tokens.length < s.seqLen + 1) throw new BenchError(`--tokens-file ${s.tokensFile}: ${tokens.length} ids are fewer than one row of ${s.seqLen + 1}`);
  const source: BatchSource = tokens ? new SamplerSource(tokens, { batchSize: s.batch, seqLen: s.seqLen, seed: s.seed + 1 }) : new RandomTokens(config.vocabSize, s.seed + 1);
  const perStep = s.batch * s.seqLen * s.accum;
  const total = s.warmup + s.steps;
  const keep = Math.min(total, s.warmup + MIN_TIMED_STEPS);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-train-'));
  const model = createModel(config, s.seed);
  const parameters = Object.values(model.params).reduce((a, p) => a + p.size, 0);
  const steps: TrainBenchStep[] = [];
  let error: string | null = null;
  let profile: StepProfile | null = null;
  let cpuProfile: CpuProfileSummary | null = null;
  let stopCpuProfile: (() => Promise<unknown>) | null = null;
  let capped = false;
  const scope = gpuErrorScope();
  const t0 = performance.now();
  try {
    if (s.cpuProfile && s.warmup === 0) stopCpuProfile = await startCpuProfile(s.cpuProfile);
    await train(
      model,
      { train: source },
      {
        tokens: total * perStep, batchSize: s.batch, seqLen: s.seqLen, accumSteps: s.accum, lr: s.lr, seed: s.seed,
        outDir: path.join(dir, 'run'), progress: 'none', checkpointEvery: 0, keepCheckpoints: 1,
      },
      {
        onStep: async (m: StepMetrics) => {
          const st = { step: m.step, loss: m.loss, gradNorm: m.gradNorm, lr: m.lr, seconds: perStep / m.tokensPerSec, tokensPerSec: m.tokensPerSec, gpuMiB: gpuMiB() };
          steps.push(st);
          onStep?.(st);
          // Decided here, after the step, so that the CPU profile ends with the last timed step (not the final checkpoint).
          capped = s.maxSeconds !== null && m.step < total && steps.length >= keep && (performance.now() - t0) / 1000 > s.maxSeconds;
          if (stopCpuProfile && (capped || m.step === total)) {
            const stop: () => Promise<unknown> = stopCpuProfile;
            stopCpuProfile = null;
            cpuProfile = summarizeCpuProfile((await stop()) as Parameters<typeof summarizeCpuProfile>[0], 40);
          } else if (s.cpuProfile && m.step === s.warmup && !stopCpuProfile && !cpuProfile) {
            stopCpuProfile = await startCpuProfile(s.cpuProfile);
          }
        },
        shouldStop: () => capped,
      },
    );
    if (s.profile) {
      const b = source.next(s.batch, s.seqLen);
      profile = await profileStep(model, { ...b, batch: s.batch, seqLen: s.seqLen });
    }
  } catch (err) {
    error = errorLine(err);
  } finally {
    if (stopCpuProfile) await (stopCpuProfile as () => Promise<unknown>)().catch(() => undefined);
    const gpuError = await scope.end();
    // A dropped command buffer is the cause of whatever else went wrong: it is the error to report.
    if (gpuError) error = `GPU ${gpuError}${error ? ` (then: ${error})` : ''}`;
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const timed = steps.slice(s.warmup);
  const losses = steps.map((l) => l.loss);
  return {
    parameters,
    tokensPerStep: perStep,
    data: tokens ? { source: 'file', file: s.tokensFile!, tokens: tokens.length } : { source: 'random' },
    stepsRun: steps.length,
    cappedBySeconds: capped,
    tokensPerSec: timed.length ? spread(timed.map((l) => l.tokensPerSec)) : null,
    stepSeconds: timed.length ? spread(timed.map((l) => l.seconds)) : null,
    firstStepSeconds: steps[0]?.seconds ?? null,
    loss: { first: losses[0] ?? null, last: losses[losses.length - 1] ?? null, decreased: losses.length > 1 && losses[losses.length - 1] < losses[0] },
    steps,
    profile,
    cpuProfile,
    error,
  };
}
