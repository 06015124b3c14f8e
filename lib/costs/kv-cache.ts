// KV-cache size as pure functions of the config. The study's "KV Cache / Token / Layer" column is really
// elements per token summed over all layers; here per-layer and total are separate, labelled fields.
import { ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode, defaultCacheMode } from './cache-modes';

export type Dtype = 'fp32' | 'fp16' | 'bf16';
export const BYTES_PER_ELEMENT: Record<Dtype, number> = { fp32: 4, fp16: 2, bf16: 2 };

export interface KvCacheElements {
  /** Cached elements per token in one layer. */
  perTokenPerLayer: number;
  /** Cached elements per token summed over all layers (the study's column). */
  perToken: number;
  layers: number;
  mode: CacheMode;
}

/** Elements one token adds to one layer's cache in the given mode (default: the most compact mode). */
export function kvElementsPerTokenPerLayer(c: ModelConfig, mode: CacheMode = defaultCacheMode(c)): number {
  checkCacheMode(c, mode);
  const s = deriveSizes(c);
  const H = c.nHeads;
  const D = s.headDim;
  switch (mode) {
    case 'none':
      return 0;
    case 'full':
      return 2 * H * D;
    case 'latent':
    case 'absorbed':
      // The latent is shared by all heads, and so is the RoPE key: both are stored once per token.
      return c.kvRank + (s.sharedRopeKey ? s.rotaryDim : 0);
    case 'kv':
      if (c.attention === 'mha-decoupled-rope') return H * s.nopeDim + s.rotaryDim + H * D;
      return 2 * s.kvHeads * D;
  }
}

export function kvCacheElements(c: ModelConfig, mode: CacheMode = defaultCacheMode(c)): KvCacheElements {
  const perTokenPerLayer = kvElementsPerTokenPerLayer(c, mode);
  return { perTokenPerLayer, perToken: perTokenPerLayer * c.nLayers, layers: c.nLayers, mode };
}

export interface KvCacheBytes {
  perTokenPerLayer: number;
  perToken: number;
  dtype: Dtype;
  mode: CacheMode;
}

export function kvCacheBytes(c: ModelConfig, mode: CacheMode = defaultCacheMode(c), dtype: Dtype = 'fp32'): KvCacheBytes {
  const e = kvCacheElements(c, mode);
  const b = BYTES_PER_ELEMENT[dtype];
  return { perTokenPerLayer: e.perTokenPerLayer * b, perToken: e.perToken * b, dtype, mode };
}

/** Bytes of cache for `tokens` tokens of context per sequence, times `batch` sequences. */
export function kvCacheBytesForContext(
  c: ModelConfig,
  tokens: number,
  opts: { mode?: CacheMode; dtype?: Dtype; batch?: number } = {},
): number {
  return kvCacheBytes(c, opts.mode, opts.dtype).perToken * tokens * (opts.batch ?? 1);
}

// --- quantized latent caches ---

/**
 * Storage formats of MLA's latent cache (modes 'latent' and 'absorbed'). 'none' is fp32. int8 and int4 are
 * symmetric, one fp32 absmax scale per group of `groupSize` latent dims per token (no zero point: the latent
 * is roughly centred); 'fp8' is e4m3 (OCP FN: 4 exponent bits, 3 mantissa bits, max 448) after the same
 * per-group scaling, so a group's largest value lands on 448. The RoPE key stays fp32 in every format: it is
 * small (r dims) and rotated, and its error would grow with position.
 */
export type CacheQuantFormat = 'none' | 'int8' | 'int4' | 'fp8';
export const CACHE_QUANT_FORMATS: readonly CacheQuantFormat[] = ['none', 'int8', 'int4', 'fp8'];

export interface CacheQuant {
  format: CacheQuantFormat;
  /** Latent dims sharing one scale; the last group of a token may be shorter when it does not divide Rkv. */
  groupSize: number;
}

export const DEFAULT_QUANT_GROUP_SIZE = 32;
/** Bits of one stored latent element per format. */
export const QUANT_CODE_BITS: Record<CacheQuantFormat, number> = { none: 32, int8: 8, int4: 4, fp8: 8 };
/** Scales are kept as fp32, as the cache holds them. */
export const QUANT_SCALE_BYTES = 4;

export function checkCacheQuant(q: CacheQuant): CacheQuant {
  if (!CACHE_QUANT_FORMATS.includes(q.format)) {
    throw new RangeError(`cache quantization '${q.format}' is not one of ${CACHE_QUANT_FORMATS.join(', ')}`);
  }
  if (!Number.isInteger(q.groupSize) || q.groupSize < 1) {
    throw new RangeError(`quantization group size ${q.groupSize} must be a positive integer (e.g. ${DEFAULT_QUANT_GROUP_SIZE})`);
  }
  return q;
}

/** Quantization applies to MLA's latent cache only ('full' holds expanded per-head K and V). */
export function checkCacheQuantFor(c: ModelConfig, mode: CacheMode, quant: CacheQuant): CacheQuant {
  checkCacheMode(c, mode);
  checkCacheQuant(quant);
  if (quant.format !== 'none' && (c.attention !== 'mla' || (mode !== 'latent' && mode !== 'absorbed'))) {
    throw new RangeError(
      `cache quantization '${quant.format}' applies to MLA's 'latent' and 'absorbed' caches, not attention '${c.attention}' with cache '${mode}'`,
    );
  }
  return quant;
}

/** Scale groups per token for `width` latent dims. */
export function quantGroups(width: number, groupSize: number): number {
  return Math.ceil(width / groupSize);
}

export interface QuantizedKvBytes {
  /** Bytes of the latent codes per token and layer (int4 packs two per byte, rounded up per token). */
  codes: number;
  /** Bytes of the per-group scales per token and layer. */
  scales: number;
  /** Bytes of the fp32 RoPE key per token and layer (0 without RoPE). */
  ropeKey: number;
  perTokenPerLayer: number;
  perToken: number;
  mode: CacheMode;
  quant: CacheQuant;
}

/** Bytes one token adds to MLA's latent cache in a quantized format, scales included. */
export function quantizedKvCacheBytes(c: ModelConfig, mode: CacheMode, quant: CacheQuant): QuantizedKvBytes {
  checkCacheQuantFor(c, mode, quant);
  const s = deriveSizes(c);
  const ropeKey = (s.sharedRopeKey ? s.rotaryDim : 0) * BYTES_PER_ELEMENT.fp32;
  if (quant.format === 'none') {
    const all = kvCacheBytes(c, mode, 'fp32');
    return { codes: all.perTokenPerLayer - ropeKey, scales: 0, ropeKey, perTokenPerLayer: all.perTokenPerLayer, perToken: all.perToken, mode, quant };
  }
  const codes = Math.ceil((c.kvRank * QUANT_CODE_BITS[quant.format]) / 8);
  const scales = quantGroups(c.kvRank, quant.groupSize) * QUANT_SCALE_BYTES;
  const perTokenPerLayer = codes + scales + ropeKey;
  return { codes, scales, ropeKey, perTokenPerLayer, perToken: perTokenPerLayer * c.nLayers, mode, quant };
}
