// Named scales for the experiment notebooks: how big the models are, how many tokens each run trains on, how
// many seeds. One notebook serves all three; MLA_SCALE picks the scale.
//   smoke  tiny models and a few steps: checks that every cell runs (CI, the headless runner)
//   small  CPU-sized models and a budget a laptop finishes in hours (the default for people)
//   paper  the study's models and budgets (days on CPU; meant for a GPU backend)
// The training fields use TrainOptions' names, so `{ ...experiment.train, seed, outDir }` is a trainer call.
import { ConfigError } from '../config/validate';
import { getPreset } from '../config/presets';
import type { TrainOptions } from '../train/types';

export type ScaleName = 'smoke' | 'small' | 'paper';
export const SCALE_NAMES: readonly ScaleName[] = ['smoke', 'small', 'paper'];
/** What a person gets without MLA_SCALE; CI and the headless runner set MLA_SCALE=smoke. */
export const DEFAULT_SCALE: ScaleName = 'small';

export type ScaleTraining = Pick<TrainOptions, 'tokens' | 'batchSize' | 'seqLen' | 'accumSteps' | 'evalEvery' | 'evalTokens'> & Partial<Pick<TrainOptions, 'lr'>>;

/** One of the study's training comparisons at this scale. */
export interface ExperimentScale {
  /** Model presets (lib/config PRESETS), one run per preset and seed, in the order of the study's table. */
  presets: string[];
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
export function scale(name?: string, env: NodeJS.ProcessEnv = process.env): Scale {
  const chosen = (name ?? env.MLA_SCALE ?? '').trim() || DEFAULT_SCALE;
  if (!isScaleName(chosen)) {
    throw new ConfigError(name === undefined ? 'MLA_SCALE' : 'scale', chosen, `allowed: ${SCALE_NAMES.join(', ')}`);
  }
  const s = structuredClone(SCALES[chosen]);
  if (env.MLA_DATA) s.data = env.MLA_DATA;
  return s;
}

/** Every preset a scale names, checked against PRESETS (throws ConfigError naming an unknown one). */
export function scalePresets(s: Scale): string[] {
  const names = [...new Set([...s.noRope.presets, ...s.rope.presets, ...s.scaling.presets, ...s.timing.presets])];
  for (const n of names) getPreset(n);
  return names;
}
