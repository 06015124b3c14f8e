// The study's inference-timing experiment (Experiment 3) and the per-token decode cost against context length.
// Timing does not depend on what the weights are, so the models are freshly initialised (seeded): training them
// first would change no number here.
import type { ModelConfig } from '../config/model-config';
import { resolveConfig } from '../config/presets';
import type { CacheMode } from '../costs/cache-modes';
import { decodeStepBytes, generationBytes } from '../costs/decode-bytes';
import { type CopyBandwidth, measureCopyBandwidth } from '../bench/model-benches';
import { createModel } from '../model/gpt';
import { decodeCostAt, timeGeneration } from './timing';

export interface TimingSeries {
  label: string;
  preset: string;
  overrides?: Partial<ModelConfig>;
  cache: CacheMode;
}

/** The study's lines: MHA with its cache; MLA with the full, latent and absorbed caches; MLA with one more layer. */
export function studyTimingSeries(mhaPreset: string, mlaPreset: string): TimingSeries[] {
  const extra = { nLayers: resolveConfig(mlaPreset).nLayers + 1 };
  return [
    { label: 'MHA (KV cache)', preset: mhaPreset, cache: 'kv' },
    { label: 'MLA (full K/V cache)', preset: mlaPreset, cache: 'full' },
    { label: 'MLA (latent cache, re-expanded)', preset: mlaPreset, cache: 'latent' },
    { label: 'MLA (latent cache, absorbed)', preset: mlaPreset, cache: 'absorbed' },
    { label: 'MLA + 1 layer (latent cache)', preset: mlaPreset, overrides: extra, cache: 'latent' },
  ];
}

export interface TimingRow {
  series: string;
  preset: string;
  layers: number;
  cache: CacheMode;
  /** 'new-tokens': fixed prompt, varying new tokens; 'prompt': varying prompt, fixed new tokens. */
  sweep: 'new-tokens' | 'prompt';
  promptTokens: number;
  newTokens: number;
  medianMs: number;
  p25Ms: number;
  p75Ms: number;
  minMs: number;
  maxMs: number;
  repeats: number;
  /**
   * Memory-traffic floor of the whole generation: generationBytes (batch 1, fp32: the prefill's weights, then each
   * step's weights + cache at its context) / the study's copy bandwidth. null in rows measured before the study
   * recorded a bandwidth.
   */
  floorMs: number | null;
  /** medianMs / floorMs (1 is the floor); null with floorMs. */
  ratioToFloor: number | null;
}

export interface TimingStudyOptions {
  /** Lengths swept (new tokens in one sweep, prompt tokens in the other). */
  lengths: number[];
  /** The other length, held fixed (the study: 100). */
  fixed: number;
  repeats: number;
  warmup: number;
  promptToken?: number;
  onRow?: (row: TimingRow) => void;
  /** The bandwidth every row's floor divides by (measured here, once, when not given). */
  copyBandwidth?: CopyBandwidth;
}

export async function runTimingStudy(series: TimingSeries[], o: TimingStudyOptions): Promise<TimingRow[]> {
  const bw = o.copyBandwidth ?? (await measureCopyBandwidth());
  const rows: TimingRow[] = [];
  for (const s of series) {
    const config = resolveConfig(s.preset, { dropout: 0, ...s.overrides });
    const model = createModel(config, 0);
    try {
      for (const sweep of ['new-tokens', 'prompt'] as const) {
        for (const n of o.lengths) {
          const promptTokens = sweep === 'new-tokens' ? o.fixed : n;
          const newTokens = sweep === 'new-tokens' ? n : o.fixed;
          const t = await timeGeneration(model, { promptTokens, newTokens, cache: s.cache, repeats: o.repeats, warmup: o.warmup, promptToken: o.promptToken ?? 1 });
          const floorMs = generationBytes(config, promptTokens, newTokens, s.cache).total / (bw.gbPerS * 1e6);
          const row: TimingRow = {
            series: s.label,
            preset: s.preset,
            layers: config.nLayers,
            cache: s.cache,
            sweep,
            promptTokens,
            newTokens,
            medianMs: t.totalMs.median,
            p25Ms: t.totalMs.p25,
            p75Ms: t.totalMs.p75,
            minMs: t.totalMs.min,
            maxMs: t.totalMs.max,
            repeats: t.totalMs.n,
            floorMs,
            ratioToFloor: t.totalMs.median / floorMs,
          };
          rows.push(row);
          o.onRow?.(row);
        }
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}

export interface DecodeCostRow {
  series: string;
  preset: string;
  cache: CacheMode;
  context: number;
  msPerTokenMedian: number;
  msPerTokenP25: number;
  msPerTokenP75: number;
  cacheMiB: number;
  /**
   * Memory-traffic floor: decodeStepBytes (batch 1, fp32: weights + this cache at this context) / the study's copy
   * bandwidth, as `mla bench decode` reports it. null in rows measured before the study recorded a bandwidth.
   */
  floorMs: number | null;
  /** msPerTokenMedian / floorMs (1 is the floor); null with floorMs. */
  ratioToFloor: number | null;
}

/**
 * Milliseconds per decoded token against the tokens already cached, for each series, with each point's
 * memory-traffic floor over `copyBandwidth` (measured here, once, when not given).
 */
export async function runDecodeCostStudy(
  series: TimingSeries[], contexts: number[], steps: number, onRow?: (r: DecodeCostRow) => void, copyBandwidth?: CopyBandwidth,
): Promise<DecodeCostRow[]> {
  const bw = copyBandwidth ?? (await measureCopyBandwidth());
  const rows: DecodeCostRow[] = [];
  for (const s of series) {
    const config = resolveConfig(s.preset, { dropout: 0, ...s.overrides });
    const model = createModel(config, 0);
    try {
      for (const context of contexts) {
        const p = await decodeCostAt(model, s.cache, context, steps);
        const floorMs = decodeStepBytes(config, context, s.cache).total / (bw.gbPerS * 1e6);
        const row: DecodeCostRow = {
          series: s.label,
          preset: s.preset,
          cache: s.cache,
          context,
          msPerTokenMedian: p.msPerToken.median,
          msPerTokenP25: p.msPerToken.p25,
          msPerTokenP75: p.msPerToken.p75,
          cacheMiB: p.cacheBytes / 2 ** 20,
          floorMs,
          ratioToFloor: p.msPerToken.median / floorMs,
        };
        rows.push(row);
        onRow?.(row);
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}
