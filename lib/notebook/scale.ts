// Named scales for the experiment notebooks: how big the models are, how many tokens each run trains on, how
// many seeds. One notebook serves all three; MLA_SCALE picks the scale.
//   smoke  tiny models and a few steps: checks that every cell runs (CI, the headless runner)
//   small  CPU-sized models and a budget a laptop finishes in hours (the default for people)
//   gpu    the study's 35M models at 16M tokens and the ~300M trio at 4M, sized for one H200 on WebGPU; its
//          finished run folders are committed under data/experiments/gpu/
//   paper  the study's models and budgets (~100M tokens per run: meant for WikiText-103 on a GPU)
// The training fields use TrainOptions' names, so `{ ...experiment.train, seed, outDir }` is a trainer call.
import { ConfigError } from '../config/validate';
import type { AttentionKind } from '../config/model-config';
import { getPreset } from '../config/presets';
import type { TrainOptions } from '../train/types';
import { type Env, notebookSettingsFromEnv, processEnv } from '../settings';

export type ScaleName = 'smoke' | 'small' | 'gpu' | 'paper';
export const SCALE_NAMES: readonly ScaleName[] = ['smoke', 'small', 'gpu', 'paper'];
/** What a person gets without MLA_SCALE; CI and the headless runner set MLA_SCALE=smoke. */
export const DEFAULT_SCALE: ScaleName = 'small';

export type ScaleTraining = Pick<TrainOptions, 'tokens' | 'batchSize' | 'seqLen' | 'accumSteps' | 'evalEvery' | 'evalTokens'> & Partial<Pick<TrainOptions, 'lr' | 'checkpointEvery' | 'warmupSteps'>>;

/** What one preset of an experiment trains with over the experiment's `train` and its kind's swept rate. */
export type PresetTraining = Partial<Pick<TrainOptions, 'lr' | 'warmupSteps'>>;

/** One of the study's training comparisons at this scale. */
export interface ExperimentScale {
  /** Model presets (lib/config PRESETS), one run per preset and seed, in the order of the study's table. */
  presets: string[];
  train: ScaleTraining;
  /** Seeds of this experiment when they differ from the scale's (e.g. one seed of the costly scaling runs). */
  seeds?: number[];
  /**
   * Per preset of this experiment, a peak rate and warm-up over the shared `train` and the kind's swept rate (the
   * sweep trains 35M models; a rate it chose can diverge at another size, as 1.2e-3 does at ~300M).
   */
  presetTrain?: Record<string, PresetTraining>;
}

/**
 * The learning-rate sweep: each preset (one per attention kind) trained once per rate on a smaller budget; the
 * rate with the lowest validation perplexity becomes that kind's rate (chooseLearningRates in
 * lib/experiments/runner.ts). The study used one rate for every kind, which can favour one of them.
 */
export interface LrSweepScale {
  presets: string[];
  lrs: number[];
  seed: number;
  train: ScaleTraining;
}

/** The study's timing experiment: greedy decoding, batch 1. */
export interface TimingScale {
  presets: string[];
  /** Lengths swept: prompt lengths (with `fixed` new tokens) and new-token counts (with a `fixed`-token prompt). */
  lengths: number[];
  fixed: number;
  /** Timed repeats per point (the study: 1, no warm-up). */
  repeats: number;
}

/** Beyond the study: decode cost per token against context length. */
export interface DecodeCostScale {
  /** An MHA and an MLA preset of the same size, both with RoPE (no position table to outgrow). */
  mha: string;
  mla: string;
  /** Context lengths (tokens already cached); each must leave room for the timed steps below maxSeqLen. */
  contexts: number[];
  /** maxSeqLen for these models, raised to reach long contexts. */
  maxSeqLen: number;
  /** Timed decode steps per point. */
  steps: number;
}

/**
 * The budget of the design-space sweeps (notebooks 07 and 08: KV rank, q rank, GQA heads, RoPE split) when it
 * differs from Experiment 2's: a sweep has 10–12 models, so at the gpu scale each trains a quarter of a study run.
 */
export interface DesignScale {
  train: ScaleTraining;
  seeds?: number[];
}

export interface Scale {
  name: ScaleName;
  description: string;
  /** Data spec for lib/data (`embedded`, or `wikitext103:/folder`); $MLA_DATA overrides it. */
  data: string;
  /** Seeds of the model init, data order and dropout; one run per seed. */
  seeds: number[];
  /** Experiment 1: no RoPE (learned positions), MHA vs MLA vs MQA. */
  noRope: ExperimentScale;
  /** Experiment 2: RoPE, MHA vs MLA with decoupled RoPE vs MHA with decoupled RoPE vs MQA. */
  rope: ExperimentScale;
  /** The scaling run: experiment 1 at the next model size up. */
  scaling: ExperimentScale;
  timing: TimingScale;
  decodeCost: DecodeCostScale;
  /** Peak learning rate per attention kind, over the experiments' own `train.lr` (chosen by `lrSweep`). */
  lr?: Partial<Record<AttentionKind, number>>;
  lrSweep?: LrSweepScale;
  /**
   * Experiment 1's models at the study's one rate (6e-4) over Experiment 1's whole budget, beside the swept rate
   * they use: whether the ranking (MLA without RoPE last here, first in the study) is the learning rate's doing.
   */
  studyLr?: LrSweepScale;
  /** The design-space sweeps' budget (default: Experiment 2's train options and the scale's seeds). */
  design?: DesignScale;
  /** Where this scale's run folders live, from the project root, when they are committed (default data/runs). */
  runsDir?: string;
}

const family = (size: string, kinds: string[], pos: string) => kinds.map((k) => `${size}-${k}-${pos}`);
const noRopeKinds = ['mha', 'mla', 'mqa'];
// The study's RoPE table: MHA, MLA (decoupled RoPE), MHA with decoupled RoPE, MQA.
const ropePresets = (size: string) => [`${size}-mha-rope`, `${size}-mla-rope`, `${size}-mha-decoupled-rope`, `${size}-mqa-rope`];
const range = (lo: number, hi: number, step = 1) => Array.from({ length: Math.floor((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

export const SCALES: Record<ScaleName, Scale> = {
  smoke: {
    name: 'smoke',
    description: 'tiny models, a few steps each: proves every cell runs (minutes on 2 CPU cores)',
    data: 'embedded',
    seeds: [0, 1],
    noRope: { presets: family('tiny', noRopeKinds, 'norope'), train: { tokens: 2048, batchSize: 4, seqLen: 32, accumSteps: 1, evalEvery: 8, evalTokens: 512 } },
    rope: { presets: ropePresets('tiny'), train: { tokens: 2048, batchSize: 4, seqLen: 32, accumSteps: 1, evalEvery: 8, evalTokens: 512 } },
    scaling: { presets: family('small', noRopeKinds, 'norope'), train: { tokens: 1024, batchSize: 2, seqLen: 32, accumSteps: 1, evalEvery: 0, evalTokens: 512 } },
    timing: { presets: ['tiny-mha-norope', 'tiny-mla-norope'], lengths: [4, 8, 16], fixed: 8, repeats: 2 },
    decodeCost: { mha: 'tiny-mha-rope', mla: 'tiny-mla-rope', contexts: [8, 32], maxSeqLen: 64, steps: 3 },
  },
  small: {
    name: 'small',
    // Sized to the trainer's measured CPU throughput (~1,100 tokens/s for these models on 2 cores): one run takes
    // about 3 minutes, an experiment of 3–4 presets × 2 seeds 20–25 minutes.
    description: 'd_model 256, 4 layers, 256-token sequences, 204,800 tokens (100 steps of 8×256) per run, 2 seeds; the scaling run uses the 35M models on 2M tokens',
    data: 'embedded',
    seeds: [0, 1],
    // With so few steps the study's peak LR (6e-4) leaves every model near the unigram baseline; 2e-3 separates them.
    noRope: { presets: family('small', noRopeKinds, 'norope'), train: { tokens: 204_800, batchSize: 8, seqLen: 256, accumSteps: 1, lr: 2e-3, evalEvery: 25, evalTokens: 32_768 } },
    rope: { presets: ropePresets('small'), train: { tokens: 204_800, batchSize: 8, seqLen: 256, accumSteps: 1, lr: 2e-3, evalEvery: 25, evalTokens: 32_768 } },
    scaling: { presets: family('35m', noRopeKinds, 'norope'), train: { tokens: 2_000_000, batchSize: 4, seqLen: 512, accumSteps: 2, evalEvery: 100, evalTokens: 32_768 } },
    timing: { presets: ['small-mha-norope', 'small-mla-norope'], lengths: range(10, 100, 10), fixed: 100, repeats: 3 },
    decodeCost: { mha: 'small-mha-rope', mla: 'small-mla-rope', contexts: [128, 512, 1024, 2048, 4096], maxSeqLen: 4160, steps: 8 },
  },
  gpu: {
    name: 'gpu',
    // Measured on one H200 through the library's trainer on WebGPU: ~80k tokens/s for the 35M models (a 16M-token
    // run in ~3.5 minutes), ~11k for the ~300M ones. 2,000 steps of 8×1024 tokens is ~4.8 passes over the embedded
    // corpus's 3.39M training tokens: the validation curve shows whether it turns up.
    description: "the study's 35M models at 16.4M tokens (2,000 steps of 8×1024; ~4.8 epochs of the embedded corpus), 3 seeds; the ~300M trio beside the 35M trio at 4.1M tokens, 1 seed; a learning rate per attention kind from a 2M-token sweep; the design-space sweeps at 4.1M tokens (~1.2 epochs), 3 seeds",
    data: 'embedded',
    seeds: [0, 1, 2],
    noRope: { presets: family('35m', noRopeKinds, 'norope'), train: { tokens: 16_384_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 200, evalTokens: 131_072, checkpointEvery: 1000 } },
    rope: { presets: ropePresets('35m'), train: { tokens: 16_384_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 200, evalTokens: 131_072, checkpointEvery: 1000 } },
    scaling: {
      presets: [...family('35m', noRopeKinds, 'norope'), ...family('300m', noRopeKinds, 'norope')],
      train: { tokens: 4_096_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 100, evalTokens: 131_072, checkpointEvery: 1000 },
      seeds: [0],
      // The ~300M trio (24 layers, no final LayerNorm, 0.01·N(0,1) init) diverges at the 35M sweep's 1.2e-3: on the
      // H200 300m-mha-norope's loss passed ln(V) + 2 at step 7 of the 25-step warm-up (lr 3.4e-4), and bench train
      // blew up at 6e-4 and spiked at 1e-4 (data/bench/device/train-300m-*-2026-12-02-h200.*); the CPU reproduces it
      // (gradient norm 4.8 → 54 at lr 1.4e-4, data/bench/cpu/). One rate for the three, a quarter of the 35M one,
      // reached over a 10% warm-up: the study's own 300M never trained above ~8e-5 (its schedule's ~13% of 6e-4).
      presetTrain: Object.fromEntries(family('300m', noRopeKinds, 'norope').map((p) => [p, { lr: 3e-4, warmupSteps: 50 }])),
    },
    timing: { presets: ['35m-mha-norope', '35m-mla-norope'], lengths: range(10, 90, 20), fixed: 100, repeats: 2 },
    decodeCost: { mha: '35m-mha-rope', mla: '35m-mla-rope', contexts: [512, 1024, 2048, 4096, 8192, 16384], maxSeqLen: 16448, steps: 16 },
    // One preset per attention kind (with RoPE: the RoPE table has all four); the no-RoPE models take their kind's rate.
    lrSweep: {
      presets: ropePresets('35m'),
      lrs: [6e-4, 1.2e-3, 2.4e-3],
      seed: 0,
      train: { tokens: 2_048_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 0, evalTokens: 131_072, checkpointEvery: 1000 },
    },
    studyLr: {
      presets: ['35m-mla-norope', '35m-mha-norope'],
      lrs: [6e-4],
      seed: 0,
      train: { tokens: 16_384_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 200, evalTokens: 131_072, checkpointEvery: 1000 },
    },
    // Chosen by lrSweep on the H200 (data/experiments/gpu; `mla experiment run --experiment lrSweep --scale gpu`):
    // the lowest validation perplexity after 2M tokens, per kind. MHA with decoupled RoPE chose the sweep's top rate,
    // so its optimum may lie higher. The no-RoPE models take their kind's rate. GQA (the rank sweep's 2–8 KV heads)
    // was not swept: it lies between MHA (16 KV heads) and MQA (1), which both chose 1.2e-3, so it takes that rate.
    lr: { mha: 1.2e-3, mla: 1.2e-3, 'mha-decoupled-rope': 2.4e-3, mqa: 1.2e-3, gqa: 1.2e-3 },
    // The rank sweep (12 models) and the RoPE split (9) at 3 seeds: 63 runs, ~1 minute each on the H200.
    design: {
      train: { tokens: 4_096_000, batchSize: 8, seqLen: 1024, accumSteps: 1, evalEvery: 100, evalTokens: 131_072, checkpointEvery: 1000 },
      seeds: [0, 1, 2],
    },
    runsDir: 'data/experiments/gpu',
  },
  paper: {
    name: 'paper',
    description: "the study's models and budgets: 35M and ~300M models, ~100M tokens of 1024-token sequences per run",
    data: 'embedded',
    seeds: [0, 1],
    noRope: { presets: family('35m', noRopeKinds, 'norope'), train: { tokens: 100_000_000, batchSize: 12, seqLen: 1024, accumSteps: 4, evalEvery: 500, evalTokens: 262_144 } },
    rope: { presets: ropePresets('35m'), train: { tokens: 100_000_000, batchSize: 12, seqLen: 1024, accumSteps: 4, evalEvery: 500, evalTokens: 262_144 } },
    scaling: { presets: family('300m', noRopeKinds, 'norope'), train: { tokens: 100_000_000, batchSize: 8, seqLen: 1024, accumSteps: 4, evalEvery: 500, evalTokens: 262_144 } },
    timing: { presets: ['35m-mha-norope', '35m-mla-norope'], lengths: range(10, 100, 5), fixed: 100, repeats: 5 },
    decodeCost: { mha: '35m-mha-rope', mla: '35m-mla-rope', contexts: [1024, 4096, 8192, 16384, 32768], maxSeqLen: 32832, steps: 16 },
  },
};

/** Whether `name` is a scale name. */
export function isScaleName(name: string): name is ScaleName {
  return (SCALE_NAMES as readonly string[]).includes(name);
}

/**
 * The scale named by `name`, else by $MLA_SCALE, else DEFAULT_SCALE; $MLA_DATA replaces its data spec.
 * Returns a copy, so a notebook may adjust it without touching SCALES.
 */
export function scale(name?: string, env: Env = processEnv()): Scale {
  const fromEnv = notebookSettingsFromEnv(env);
  const chosen = (name ?? fromEnv.scale ?? '').trim() || DEFAULT_SCALE;
  if (!isScaleName(chosen)) {
    throw new ConfigError(name === undefined ? 'MLA_SCALE' : 'scale', chosen, `allowed: ${SCALE_NAMES.join(', ')}`);
  }
  const s = structuredClone(SCALES[chosen]);
  if (fromEnv.data) s.data = fromEnv.data;
  return s;
}

/** Every preset a scale names, checked against PRESETS (throws ConfigError naming an unknown one). */
export function scalePresets(s: Scale): string[] {
  const names = [...new Set([...s.noRope.presets, ...s.rope.presets, ...s.scaling.presets, ...s.timing.presets, ...(s.lrSweep?.presets ?? []), ...(s.studyLr?.presets ?? [])])];
  for (const n of names) getPreset(n);
  return names;
}
