// The bytes one decode step must read: every weight once (of the embedding tables only the B rows looked up)
// and each sequence's whole cache at its context. Divided by a measured copy bandwidth this is the step's
// memory-traffic floor, which a decode at small batch is bound by (lib/bench decode reports the ratio).
// Intermediates (K/V re-expanded by 'latent', the scores) are not counted: they are what a mode costs on top of
// the floor, not what the step must read.
import { type ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode } from './cache-modes';
import { BYTES_PER_ELEMENT, CacheQuant, Dtype, kvCacheBytesForContext, quantizedKvCacheBytes } from './kv-cache';
import { paramCount } from './params';

export interface DecodeStepBytes {
  /** Weights read once per step: all but the embedding tables, plus B rows of each table. */
  weights: number;
  /** Every sequence's cache at `context` tokens (0 for mode 'none', which re-reads no cache). */
  cache: number;
  total: number;
}

export interface DecodeStepBytesOptions {
  /** Sequences decoded together (default 1): they share the weights and each has its own cache. */
  batch?: number;
  /** Element type of weights and cache (default fp32). */
  dtype?: Dtype;
  /** MLA's latent cache stored quantized (modes 'latent'/'absorbed'); weights stay in `dtype`. */
  quant?: CacheQuant;
}

/** Bytes one step of a decode reads with `context` tokens already cached in each of `batch` sequences. */
export function decodeStepBytes(c: ModelConfig, context: number, mode: CacheMode, opts: DecodeStepBytesOptions = {}): DecodeStepBytes {
  checkCacheMode(c, mode);
  const batch = opts.batch ?? 1;
  const dtype = opts.dtype ?? 'fp32';
  if (!Number.isInteger(context) || context < 0) throw new RangeError(`decodeStepBytes: context ${context} must be an integer ≥ 0`);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`decodeStepBytes: batch ${batch} must be an integer ≥ 1`);
  const p = paramCount(c);
  const tables = (p.embedding > 0 ? 1 : 0) + (p.positions > 0 ? 1 : 0);
  const weightElements = p.total - p.embedding - p.positions + tables * batch * c.dModel; // (B, C) rows per table
  const weights = weightElements * BYTES_PER_ELEMENT[dtype];
  let cache = 0;
  if (mode !== 'none') {
    cache = opts.quant && opts.quant.format !== 'none'
      ? quantizedKvCacheBytes(c, mode, opts.quant).perToken * context * batch
      : kvCacheBytesForContext(c, context, { mode, dtype, batch });
  }
  return { weights, cache, total: weights + cache };
}

export interface GenerationBytes {
  /** The prefill's reads: every weight once (and the prompt's rows of each embedding table). */
  prefill: number;
  /** The decode steps' reads: one step per new token after the first, each at its own context. */
  decode: number;
  /** Decode steps of the generation: newTokens - 1 (the prefill's logits give the first new token). */
  steps: number;
  total: number;
}

/**
 * Bytes a whole greedy generation must read (lib/generate: one prefill of the prompt, then one step per further new
 * token): the prefill reads the weights once; step k (k = 0 … newTokens - 2) reads the weights and the cache at
 * promptTokens + k tokens. Over a copy bandwidth this is the generation's memory-traffic floor (notebook 05).
 * The prefill's compute and its cache writes are not counted: a floor, not an estimate.
 */
export function generationBytes(c: ModelConfig, promptTokens: number, newTokens: number, mode: CacheMode, opts: Omit<DecodeStepBytesOptions, 'batch'> = {}): GenerationBytes {
  if (!Number.isInteger(promptTokens) || promptTokens < 1) throw new RangeError(`generationBytes: prompt tokens ${promptTokens} must be an integer ≥ 1`);
  if (!Number.isInteger(newTokens) || newTokens < 1) throw new RangeError(`generationBytes: new tokens ${newTokens} must be an integer ≥ 1`);
  // The prompt looks up promptTokens rows of each embedding table: the weights a step of that many sequences reads.
  const prefill = decodeStepBytes(c, 0, mode, { ...opts, batch: promptTokens }).weights;
  // Each step reads the weights and a cache linear in its context: steps × weights + perToken × Σ contexts.
  const step = decodeStepBytes(c, 1, mode, { ...opts, batch: 1 });
  const steps = newTokens - 1;
  const contexts = steps * promptTokens + (steps * (steps - 1)) / 2; // Σ_{k<steps} (promptTokens + k)
  const decode = steps * step.weights + step.cache * contexts;
  return { prefill, decode, steps, total: prefill + decode };
}

/**
 * The largest single tensor (bytes, fp32) a decode step holds with `context` tokens cached in each of `batch`
 * sequences: one layer's cached keys or values, the wider (kv, full), its cached latent (absorbed), or the values
 * 'latent' re-expands every step (B, H, S, D), if wider than the latent.
 * A GPU backend binds each tensor as one storage buffer, so this must fit its binding limit (WebGPU:
 * maxStorageBufferBindingSize, ~2 GiB on the H200's Dawn). Caches grow in rows of `granule` (lib/attention/cache-utils).
 */
export function largestDecodeTensorBytes(c: ModelConfig, context: number, mode: CacheMode, batch = 1, granule = 64): number {
  checkCacheMode(c, mode);
  const s = deriveSizes(c);
  const S = Math.ceil((context + 1) / granule) * granule; // the buffer's rows after the step's own write
  const B = batch;
  const H = c.nHeads;
  const bytes = 4;
  switch (mode) {
    case 'none':
      return 0;
    case 'full':
      return B * H * S * s.headDim * bytes; // K and V alike: (B, H, S, D)
    case 'kv': {
      const keys = c.attention === 'mha-decoupled-rope' ? H * s.nopeDim : s.kvHeads * s.headDim; // the shared RoPE key apart
      return B * S * Math.max(keys, s.kvHeads * s.headDim) * bytes;
    }
    case 'absorbed':
      return B * S * c.kvRank * bytes; // (B, 1, S, Rkv)
    case 'latent':
      return B * S * Math.max(c.kvRank, H * s.headDim) * bytes; // the latent, or the values it re-expands (B, H, S, D)
  }
}
