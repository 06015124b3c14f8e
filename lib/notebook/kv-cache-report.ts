// The rows of notebook 01's KV-cache tables: every preset in every cache mode it supports, plus DeepSeek-V2/V3,
// with the study's or the paper's number beside ours; and MLA's latent cache at fp32, fp16 and quantized.
// All sizes come from lib/costs; this file only lays them out.
import { ModelConfig, deriveSizes } from '../config/model-config';
import { PRESETS, resolveConfig } from '../config/presets';
import { CacheMode, cacheModesFor } from '../costs/cache-modes';
import {
  BYTES_PER_ELEMENT, CacheQuantFormat, DEFAULT_QUANT_GROUP_SIZE, Dtype, kvCacheBytes, kvCacheElements, quantizedKvCacheBytes,
} from '../costs/kv-cache';
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

// --- the latent cache quantized (notebook 01's last table) ---

/** How a row's latent is stored: the plain cache at fp32 or at the report's half dtype, or a quantized format. */
export type KvCacheStorage = Dtype | Exclude<CacheQuantFormat, 'none'>;

export interface KvCacheQuantRow {
  /** Preset name, or the published model's name. */
  model: string;
  source: 'preset' | 'published';
  experiment: string | null;
  positions: string;
  /** fp32 / fp16 / bf16: the plain cache, RoPE key included, as kvCacheRows counts it; int8 / int4 / fp8: quantized. */
  format: KvCacheStorage;
  /** Latent dims sharing one fp32 scale; null for the plain caches. */
  group_size: number | null;
  layers: number;
  /** d_c, and the shared RoPE key's dims (0 without RoPE). */
  kv_rank: number;
  rope_key_dims: number;
  /** Bytes per token in one layer: the latent (codes), its per-group scales, the RoPE key (fp32 when quantized). */
  latent_bytes: number;
  scale_bytes: number;
  rope_key_bytes: number;
  bytes_per_layer: number;
  bytes_all_layers: number;
  /** bytes_per_layer over the fp32 cache's. */
  fraction_of_fp32: number;
  /** Cache of one sequence at 1k / 32k / 128k tokens of context, MiB (2^20 bytes). */
  mib_1k: number;
  mib_32k: number;
  mib_128k: number;
}

const QUANTIZED: readonly Exclude<CacheQuantFormat, 'none'>[] = ['int8', 'int4', 'fp8'];

/** One model's rows: fp32, `dtype` (unless fp32), then each quantized format; every size from lib/costs. */
function quantRows(model: string, config: ModelConfig, extra: Pick<KvCacheQuantRow, 'source' | 'experiment'>, dtype: Dtype, groupSize: number): KvCacheQuantRow[] {
  // 'latent' and 'absorbed' hold the same tensors, so one mode stands for both.
  const mode = 'latent';
  const s = deriveSizes(config);
  const fp32 = quantizedKvCacheBytes(config, mode, { format: 'none', groupSize });
  const common = { model, ...extra, positions: config.positions, layers: config.nLayers, kv_rank: config.kvRank, rope_key_dims: s.sharedRopeKey ? s.rotaryDim : 0 };
  const sized = (format: KvCacheStorage, group: number | null, latent: number, scales: number, ropeKey: number, perLayer: number, perToken: number): KvCacheQuantRow => ({
    ...common,
    format,
    group_size: group,
    latent_bytes: latent,
    scale_bytes: scales,
    rope_key_bytes: ropeKey,
    bytes_per_layer: perLayer,
    bytes_all_layers: perToken,
    fraction_of_fp32: perLayer / fp32.perTokenPerLayer,
    mib_1k: (perToken * KV_CONTEXTS['1k']) / MIB,
    mib_32k: (perToken * KV_CONTEXTS['32k']) / MIB,
    mib_128k: (perToken * KV_CONTEXTS['128k']) / MIB,
  });
  const plain = (dtypes: Dtype[]) =>
    dtypes.map((d) => {
      const b = kvCacheBytes(config, mode, d);
      // The plain cache holds latent and RoPE key at one dtype: fp32's split, scaled to its element size.
      const k = BYTES_PER_ELEMENT[d] / BYTES_PER_ELEMENT.fp32;
      return sized(d, null, fp32.codes * k, 0, fp32.ropeKey * k, b.perTokenPerLayer, b.perToken);
    });
  return [
    ...plain(dtype === 'fp32' ? ['fp32'] : ['fp32', dtype]),
    ...QUANTIZED.map((format) => {
      const q = quantizedKvCacheBytes(config, mode, { format, groupSize });
      return sized(format, groupSize, q.codes, q.scales, q.ropeKey, q.perTokenPerLayer, q.perToken);
    }),
  ];
}

/**
 * MLA's latent cache per token at fp32, at `dtype` (the other tables' fp16 by default) and quantized (int8, int4,
 * fp8 with one fp32 scale per `groupSize` latent dims, the RoPE key in fp32): every MLA preset, then DeepSeek-V2/V3.
 * Bytes from quantizedKvCacheBytes and kvCacheBytes, the same numbers as `mla info --group-size`.
 */
export function kvCacheQuantRows(opts: { dtype?: Dtype; groupSize?: number } = {}): KvCacheQuantRow[] {
  const dtype = opts.dtype ?? 'fp16';
  const groupSize = opts.groupSize ?? DEFAULT_QUANT_GROUP_SIZE;
  const rows: KvCacheQuantRow[] = [];
  for (const [name, preset] of Object.entries(PRESETS)) {
    const config = resolveConfig(name);
    if (!cacheModesFor(config).includes('latent')) continue;
    rows.push(...quantRows(name, config, { source: 'preset', experiment: preset.experiment ?? null }, dtype, groupSize));
  }
  for (const m of Object.values(DEEPSEEK_MLA)) {
    rows.push(...quantRows(m.name, deepseekCacheConfigs(m).mla, { source: 'published', experiment: null }, dtype, groupSize));
  }
  return rows;
}
