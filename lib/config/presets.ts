// Named presets as data: each is a partial ModelConfig merged over DEFAULT_CONFIG, plus what the study
// reported for it (labelled as the study's, never recomputed here). resolveConfig() merges user overrides
// on top and rejects unknown presets and keys with the bad value in the message.
import { DEFAULT_CONFIG, ModelConfig, OPTIONAL_CONFIG_KEYS } from './model-config';
import { ConfigError, validateConfig } from './validate';

/** What the study's results tables printed for a model (its "KV Cache / Token / Layer" column is in elements
 * summed over all layers, despite its heading). */
export interface StudyResult {
  /** The row's label in the study. */
  label: string;
  /** The study's "training perplexity" (measured on training data; there was no validation split). */
  trainPerplexity?: number;
  /** The study's KV column: elements per token, summed over all layers. */
  kvElementsAllLayers?: number;
}

export interface Preset {
  description: string;
  /** Which experiment of the study the preset belongs to, if any. */
  experiment?: 'no-rope' | 'rope' | 'scaling' | 'timing';
  config: Partial<ModelConfig>;
  study?: StudyResult;
}

// The original's MLA ranks: q rank d/2, kv rank floor(2d/3) — parameter-matched to MHA, not compressed.
const mlaRanks = (d: number) => ({ qRank: d / 2, kvRank: Math.floor((2 * d) / 3) });

const base35m: Partial<ModelConfig> = { vocabSize: 10000, maxSeqLen: 1024, dModel: 512, nLayers: 8, nHeads: 16, nKvHeads: 16 };
const base300m: Partial<ModelConfig> = { vocabSize: 10000, maxSeqLen: 1024, dModel: 1024, nLayers: 24, nHeads: 16, nKvHeads: 16 };
// Scaled-down families for CPU work: same shapes of the design, head dim 32 as the 35M models.
const baseSmall: Partial<ModelConfig> = { vocabSize: 10000, maxSeqLen: 256, dModel: 256, nLayers: 4, nHeads: 8, nKvHeads: 8 };
// Tiny models for tests and smoke runs.
const baseTiny: Partial<ModelConfig> = { vocabSize: 512, maxSeqLen: 64, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 4 };

const learned = { positions: 'learned', ropeDim: 0 } as const;
const rope = { positions: 'rope', ropeDim: 0 } as const;
// Decoupled RoPE: half of each head carries RoPE (DeepSeek-V2's 50/50 split, as the original used).
const decoupled = (d: number, h: number) => ({ positions: 'rope', ropeDim: d / h / 2 }) as const;

function family(prefix: string, b: Partial<ModelConfig>, experimentOf: (pos: 'rope' | 'norope') => Preset['experiment']) {
  const d = b.dModel!;
  const h = b.nHeads!;
  const out: Record<string, Preset> = {};
  for (const pos of ['rope', 'norope'] as const) {
    const p = pos === 'rope' ? rope : learned;
    out[`${prefix}-mha-${pos}`] = { description: `MHA, ${pos === 'rope' ? 'RoPE' : 'learned positions'}`, experiment: experimentOf(pos), config: { ...b, ...p, attention: 'mha' } };
    out[`${prefix}-mqa-${pos}`] = { description: `MQA (1 KV head), ${pos === 'rope' ? 'RoPE' : 'learned positions'}`, experiment: experimentOf(pos), config: { ...b, ...p, attention: 'mqa', nKvHeads: 1 } };
    out[`${prefix}-gqa-${pos}`] = { description: `GQA (${h / 4} KV heads), ${pos === 'rope' ? 'RoPE' : 'learned positions'}`, config: { ...b, ...p, attention: 'gqa', nKvHeads: h / 4 } };
    out[`${prefix}-mla-${pos}`] = {
      description: pos === 'rope' ? 'MLA with decoupled RoPE (shared RoPE key)' : 'MLA, learned positions',
      experiment: experimentOf(pos),
      config: { ...b, ...(pos === 'rope' ? decoupled(d, h) : learned), attention: 'mla', nKvHeads: h, ...mlaRanks(d) },
    };
  }
  out[`${prefix}-mha-decoupled-rope`] = {
    description: 'MHA with decoupled RoPE (per-head no-RoPE key + one shared RoPE key)',
    experiment: experimentOf('rope'),
    config: { ...b, ...decoupled(d, h), attention: 'mha-decoupled-rope', nKvHeads: h },
  };
  return out;
}

const study35m = family('35m', base35m, (pos) => (pos === 'rope' ? 'rope' : 'no-rope'));
const studyRows: Record<string, StudyResult> = {
  '35m-mha-rope': { label: 'MHA 35M RoPE', trainPerplexity: 94.31, kvElementsAllLayers: 8192 },
  '35m-mla-rope': { label: 'MLA 35M RoPE', trainPerplexity: 96.7, kvElementsAllLayers: 2856 },
  '35m-mha-decoupled-rope': { label: 'MHA 35M Decoupled RoPE', trainPerplexity: 98.76, kvElementsAllLayers: 8192 },
  '35m-mqa-rope': { label: 'MQA 32M RoPE', trainPerplexity: 102.18, kvElementsAllLayers: 512 },
  '35m-mla-norope': { label: 'MLA 35M no RoPE', trainPerplexity: 142.77, kvElementsAllLayers: 2728 },
  '35m-mha-norope': { label: 'MHA 35M no RoPE', trainPerplexity: 147.83, kvElementsAllLayers: 8192 },
  '35m-mqa-norope': { label: 'MQA 32M no RoPE', trainPerplexity: 155.44, kvElementsAllLayers: 512 },
  '300m-mha-norope': { label: 'MHA 324M no RoPE', trainPerplexity: 35.91, kvElementsAllLayers: 49152 },
  '300m-mla-norope': { label: 'MLA 323M no RoPE', trainPerplexity: 36.99, kvElementsAllLayers: 16368 },
  '300m-mqa-norope': { label: 'MQA 277M no RoPE', trainPerplexity: 37.91, kvElementsAllLayers: 3072 },
};

const scaling = family('300m', base300m, (pos) => (pos === 'norope' ? 'scaling' : undefined));

export const PRESETS: Record<string, Preset> = {
  ...study35m,
  // The timing study's second MLA model: no RoPE, and one extra block bought with the parameters the
  // low-rank projections save.
  '35m-mla-norope-extra-layer': {
    description: 'MLA, learned positions, 9 layers (the timing study\'s "MLA + 1 layer")',
    experiment: 'timing',
    config: { ...study35m['35m-mla-norope'].config, nLayers: 9 },
  },
  '300m-mha-norope': scaling['300m-mha-norope'],
  '300m-mla-norope': scaling['300m-mla-norope'],
  '300m-mqa-norope': scaling['300m-mqa-norope'],
  ...family('small', baseSmall, () => undefined),
  ...family('tiny', baseTiny, () => undefined),
};
for (const [name, s] of Object.entries(studyRows)) PRESETS[name] = { ...PRESETS[name], study: s };

export const PRESET_NAMES = Object.keys(PRESETS);

const CONFIG_KEYS = [...(Object.keys(DEFAULT_CONFIG) as (keyof ModelConfig)[]), ...OPTIONAL_CONFIG_KEYS];

/** Looks a preset up, or throws naming the bad name and listing the good ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new ConfigError('preset', name, `known presets: ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** Parses `key=value` overrides (from `--set`) into typed partial config values. */
export function parseOverrides(pairs: readonly string[]): Partial<ModelConfig> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError('--set', pair, 'expected key=value, e.g. --set nLayers=4');
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    checkKey(key, raw);
    const asDefault = DEFAULT_CONFIG[key as keyof ModelConfig];
    if (typeof asDefault === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new ConfigError(key, raw, 'must be a number');
      out[key] = n;
    } else {
      out[key] = raw;
    }
  }
  return out as Partial<ModelConfig>;
}

function checkKey(key: string, value: unknown): void {
  if (!CONFIG_KEYS.includes(key as keyof ModelConfig)) {
    throw new ConfigError(key, value, `unknown config key; known keys: ${CONFIG_KEYS.join(', ')}`);
  }
}

/** Merges DEFAULT_CONFIG, a preset (by name, or none) and overrides, then validates the result. */
export function resolveConfig(preset: string | undefined, overrides: Partial<ModelConfig> = {}): ModelConfig {
  for (const [k, v] of Object.entries(overrides)) checkKey(k, v);
  const fromPreset = preset === undefined ? {} : getPreset(preset).config;
  const merged: ModelConfig = { ...DEFAULT_CONFIG, ...fromPreset, ...overrides };
  // Changing the kind or head count through overrides keeps the MHA-family KV-head rule consistent unless
  // the user set nKvHeads explicitly.
  if (overrides.nKvHeads === undefined && (overrides.attention !== undefined || overrides.nHeads !== undefined)) {
    if (merged.attention === 'mqa') merged.nKvHeads = 1;
    else if (merged.attention !== 'gqa') merged.nKvHeads = merged.nHeads;
  }
  return validateConfig(merged);
}
