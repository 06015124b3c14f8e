// Tables and curves made from finished runs (their result.json and metrics.jsonl), never from live state, so
// rerunning a notebook cell redraws them from the files.
import { PRESETS } from '../config/presets';
import type { StepMetrics, ValMetrics } from '../train/types';
import { RunResult, runMetrics } from './runs';

export interface ResultRow {
  preset: string;
  /** The study's label for this model when it is one of the study's, else the preset name. */
  model: string;
  attention: string;
  positions: string;
  paramsM: number;
  kvPerTokenPerLayer: number;
  kvPerToken: number;
  kvCacheMode: string;
  seeds: number;
  tokens: number;
  /** Peak learning rate of the runs (null: the trainer's default). */
  lr: number | null;
  valPplMean: number;
  valPplSd: number;
  trainPplMean: number | null;
  tokensPerSec: number;
  /** Where the runs trained, e.g. "webgpu on nvidia-h100" (tokens/s depends on it). */
  trainedOn: string;
  /** What the study printed for this model (its "training perplexity" and KV column), labelled as the study's. */
  studyTrainPpl: number | null;
  studyKvPerToken: number | null;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

/** One row per preset, seeds aggregated, in the order presets are given. */
export function resultRows(results: RunResult[], presets: string[], studyPresetOf: (p: string) => string = (p) => p): ResultRow[] {
  return presets
    .map((preset): ResultRow | undefined => {
      const runs = results.filter((r) => r.spec.preset === preset);
      if (!runs.length) return undefined;
      const study = PRESETS[studyPresetOf(preset)]?.study;
      const val = runs.map((r) => r.valPerplexity);
      const trainPpl = runs.map((r) => r.trainPerplexity).filter((x): x is number => x !== null);
      const c = runs[0].config;
      return {
        preset,
        model: PRESETS[preset]?.study?.label ?? preset,
        attention: c.attention,
        positions: c.positions,
        paramsM: runs[0].params / 1e6,
        kvPerTokenPerLayer: runs[0].kvElementsPerToken / c.nLayers,
        kvPerToken: runs[0].kvElementsPerToken,
        kvCacheMode: runs[0].kvCacheMode,
        seeds: runs.length,
        tokens: runs[0].tokens,
        lr: runs[0].spec.train.lr ?? null,
        valPplMean: mean(val),
        valPplSd: sd(val),
        trainPplMean: trainPpl.length ? mean(trainPpl) : null,
        tokensPerSec: mean(runs.map((r) => r.tokensPerSec.median)),
        trainedOn: [...new Set(runs.map((r) => `${r.backend} on ${r.device}`))].join('; '),
        studyTrainPpl: study?.trainPerplexity ?? null,
        studyKvPerToken: study?.kvElementsAllLayers ?? null,
      };
    })
    .filter((r): r is ResultRow => r !== undefined);
}

/** A curve over seeds: at each step the mean and the min–max band. */
export interface BandCurve {
  preset: string;
  tokens: number[];
  mean: number[];
  lo: number[];
  hi: number[];
  seeds: number;
}

function band(preset: string, perSeed: { step: number; tokens: number; value: number }[][]): BandCurve {
  const steps = new Map<number, { tokens: number; values: number[] }>();
  for (const run of perSeed) for (const p of run) {
    const e = steps.get(p.step) ?? { tokens: p.tokens, values: [] };
    e.values.push(p.value);
    steps.set(p.step, e);
  }
  // Only steps every seed reached, so the band is never one seed wide by accident.
  const full = [...steps.entries()].filter(([, e]) => e.values.length === perSeed.length).sort(([a], [b]) => a - b);
  return {
    preset,
    tokens: full.map(([, e]) => e.tokens),
    mean: full.map(([, e]) => mean(e.values)),
    lo: full.map(([, e]) => Math.min(...e.values)),
    hi: full.map(([, e]) => Math.max(...e.values)),
    seeds: perSeed.length,
  };
}

/** Smooths a training-loss series with a trailing mean of `window` steps (raw per-step losses are noisy). */
function smooth(values: number[], window: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i];
    if (i >= window) acc -= values[i - window];
    out.push(acc / Math.min(i + 1, window));
  }
  return out;
}

/** Training-loss curves (smoothed per seed, then banded across seeds) and validation-loss curves, per preset. */
export function lossCurves(results: RunResult[], presets: string[], smoothWindow = 10): { train: BandCurve[]; val: BandCurve[] } {
  const train: BandCurve[] = [];
  const val: BandCurve[] = [];
  for (const preset of presets) {
    const runs = results.filter((r) => r.spec.preset === preset);
    if (!runs.length) continue;
    const metrics = runs.map(runMetrics);
    train.push(
      band(
        preset,
        metrics.map((m) => {
          const steps = m.filter((l): l is StepMetrics => l.kind === 'train');
          const s = smooth(steps.map((l) => l.loss), smoothWindow);
          return steps.map((l, i) => ({ step: l.step, tokens: l.tokens, value: s[i] }));
        }),
      ),
    );
    val.push(band(preset, metrics.map((m) => m.filter((l): l is ValMetrics => l.kind === 'val').map((l) => ({ step: l.step, tokens: l.tokens, value: l.valLoss })))));
  }
  return { train, val };
}

/** A model trained at two learning rates with the same seed and budget: the scale's swept rate and another. */
export interface RateComparisonRow {
  preset: string;
  seed: number;
  sweptLr: number | null;
  sweptValPpl: number;
  otherLr: number | null;
  otherValPpl: number;
  /** (other − swept) / swept, in percent: positive when the other rate did worse. */
  changePct: number;
}

/**
 * Each run of `other` (e.g. the studyLr check at the study's one rate) beside the run of `swept` with the same preset,
 * seed and token budget, in `other`'s order; a run without such a partner is left out.
 */
export function rateComparisonRows(swept: readonly RunResult[], other: readonly RunResult[]): RateComparisonRow[] {
  const rows: RateComparisonRow[] = [];
  for (const o of other) {
    const s = swept.find((x) => x.spec.preset === o.spec.preset && x.spec.seed === o.spec.seed && x.tokens === o.tokens);
    if (!s) continue;
    rows.push({
      preset: o.spec.preset, seed: o.spec.seed, sweptLr: s.spec.train.lr ?? null, sweptValPpl: s.valPerplexity,
      otherLr: o.spec.train.lr ?? null, otherValPpl: o.valPerplexity, changePct: (100 * (o.valPerplexity - s.valPerplexity)) / s.valPerplexity,
    });
  }
  return rows;
}
