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
