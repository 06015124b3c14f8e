// The rows of notebook 01's KV-cache table: every preset in every cache mode it supports, plus DeepSeek-V2/V3,
// with the study's or the paper's number beside ours. All sizes come from lib/costs; this file only lays them out.
import type { ModelConfig } from '../config/model-config';
import { PRESETS, resolveConfig } from '../config/presets';
import { CacheMode, cacheModesFor } from '../costs/cache-modes';
import { Dtype, kvCacheBytes, kvCacheElements } from '../costs/kv-cache';
import { DEEPSEEK_MLA, deepseekCacheConfigs } from './deepseek';

/** Context lengths the table reports memory at (per sequence). */
export const KV_CONTEXTS = { '1k': 1024, '32k': 32 * 1024, '128k': 128 * 1024 } as const;

const MIB = 1024 * 1024;

export interface KvCacheRow {
  /** Preset name, or the published model's name. */
  model: string;
  /** 'preset' rows come from lib/config; 'published' rows from DEEPSEEK_MLA. */
  source: 'preset' | 'published';
  /** The study experiment the preset belongs to, if any. */
  experiment: string | null;
  attention: string;
  positions: string;
  mode: CacheMode;
  layers: number;
  /** Ours: cached elements per token in one layer. */
  elements_per_layer: number;
  /** Ours: cached elements per token summed over all layers. */
  elements_all_layers: number;
  /** The study's "KV Cache / Token / Layer" column, which really is elements summed over all layers. */
  study_all_layers: number | null;
  /** DeepSeek's published elements per token and layer. */
  published_per_layer: number | null;
  /** Whether ours equals the study's or the published number (null: nothing to compare with). */
  matches: boolean | null;
  /** Bytes per token, all layers, at the report's dtype. */
  bytes_per_token: number;
  /** Cache of one sequence at 1k / 32k / 128k tokens of context, MiB (2^20 bytes). */
  mib_1k: number;
  mib_32k: number;
  mib_128k: number;
}

function row(
  model: string,
  config: ModelConfig,
  mode: CacheMode,
  dtype: Dtype,
  extra: Pick<KvCacheRow, 'source' | 'experiment' | 'study_all_layers' | 'published_per_layer'>,
): KvCacheRow {
  const e = kvCacheElements(config, mode);
  const b = kvCacheBytes(config, mode, dtype);
  const reference =
    extra.study_all_layers !== null ? extra.study_all_layers === e.perToken
    : extra.published_per_layer !== null ? extra.published_per_layer === e.perTokenPerLayer
    : null;
  return {
    model,
    ...extra,
    attention: config.attention,
    positions: config.positions,
    mode,
    layers: e.layers,
    elements_per_layer: e.perTokenPerLayer,
    elements_all_layers: e.perToken,
    matches: reference,
    bytes_per_token: b.perToken,
    mib_1k: (b.perToken * KV_CONTEXTS['1k']) / MIB,
    mib_32k: (b.perToken * KV_CONTEXTS['32k']) / MIB,
    mib_128k: (b.perToken * KV_CONTEXTS['128k']) / MIB,
  };
}

/**
 * One row per preset and cache mode (the modes cacheModesFor lists, most compact first), then DeepSeek-V2/V3:
 * their latent cache (compared with the paper's d_c + d_h^R) and the MHA cache the paper compares it with.
 * The study's number sits on every row of its preset; `matches` says which mode reproduces it.
 */
export function kvCacheRows(dtype: Dtype = 'fp16'): KvCacheRow[] {
  const rows: KvCacheRow[] = [];
  for (const [name, preset] of Object.entries(PRESETS)) {
    const config = resolveConfig(name);
    for (const mode of cacheModesFor(config)) {
      rows.push(
        row(name, config, mode, dtype, {
          source: 'preset',
          experiment: preset.experiment ?? null,
          study_all_layers: preset.study?.kvElementsAllLayers ?? null,
          published_per_layer: null,
        }),
      );
    }
  }
  for (const m of Object.values(DEEPSEEK_MLA)) {
    const configs = deepseekCacheConfigs(m);
    const common = { source: 'published', experiment: null, study_all_layers: null } as const;
    rows.push(row(m.name, configs.mla, 'latent', dtype, { ...common, published_per_layer: m.publishedKvPerTokenPerLayer }));
    rows.push(row(`${m.name} (as MHA)`, configs.mha, 'kv', dtype, { ...common, published_per_layer: m.publishedMhaKvPerTokenPerLayer }));
  }
  return rows;
}
