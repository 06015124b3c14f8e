// FLOPs per token as pure functions (one multiply-add = 2 FLOPs; LayerNorm, softmax and element-wise work are
// left out: they are O(C) per token against O(C²) for the matmuls).
import { ModelConfig, deriveSizes } from '../config/model-config';
import { CacheMode, checkCacheMode, defaultCacheMode } from './cache-modes';
import { attentionShapes } from './params';

const mm = (m: number, n: number) => 2 * m * n;

/** FLOPs of one token's projections through one block's attention weights (no attention core). */
function attentionProjectionFlops(c: ModelConfig): number {
  return Object.entries(attentionShapes(c))
    .filter(([, shape]) => shape.length === 2)
    .reduce((acc, [, [m, n]]) => acc + mm(m, n), 0);
}

/** Scores (q·k) and weighted values for one query against `context` keys, all heads of one layer. */
function attentionCoreFlops(c: ModelConfig, context: number): number {
  const { headDim } = deriveSizes(c);
  return c.nHeads * context * (mm(1, headDim) + mm(1, headDim));
}

function mlpAndHeadFlops(c: ModelConfig): { mlpPerLayer: number; head: number } {
  const { mlpHidden } = deriveSizes(c);
  return { mlpPerLayer: 2 * mm(c.dModel, mlpHidden), head: mm(c.dModel, c.vocabSize) };
}

/** Forward FLOPs for one token that attends to `context` tokens (a full-sequence forward pass). */
export function forwardFlopsPerToken(c: ModelConfig, context: number): number {
  const { mlpPerLayer, head } = mlpAndHeadFlops(c);
  const perLayer = attentionProjectionFlops(c) + attentionCoreFlops(c, context) + mlpPerLayer;
  return c.nLayers * perLayer + head;
}

/**
 * Training FLOPs per token at sequence length T: forward + backward ≈ 3 × forward. The attention core is
 * counted over all T keys, because the dense masked implementation computes them all.
 */
export function trainingFlopsPerToken(c: ModelConfig, seqLen: number): number {
  return 3 * forwardFlopsPerToken(c, seqLen);
}

/**
 * FLOPs to decode one new token with `context` tokens already cached, in a given cache mode.
 * - kv / full: project the new token, attend over the cache.
 * - latent: as kv, plus re-expanding every cached latent to per-head K and V (the study's compressed cache).
 * - absorbed: queries move into latent space (W_UK folded in), scores and values are taken against the latent,
 *   and W_UV is applied once per head after attention — nothing scales with context but the core.
 * - none: a full forward over context + 1 tokens, counted for its last position only as a full recompute.
 */
export function decodeFlopsPerToken(c: ModelConfig, context: number, mode: CacheMode = defaultCacheMode(c)): number {
  checkCacheMode(c, mode);
  const s = deriveSizes(c);
  const H = c.nHeads;
  const { mlpPerLayer, head } = mlpAndHeadFlops(c);
  const T = context + 1;
  if (mode === 'none') return T * forwardFlopsPerToken(c, T);
  let attn = attentionProjectionFlops(c) + attentionCoreFlops(c, T);
  if (mode === 'latent') attn += context * mm(c.kvRank, H * s.nopeDim + H * s.headDim);
  if (mode === 'absorbed') {
    const rope = s.rotaryDim;
    // The new token's own up-projection is skipped too: its latent goes straight into the cache.
    attn -= mm(c.kvRank, H * s.nopeDim + H * s.headDim);
    attn -= attentionCoreFlops(c, T);
    attn += mm(s.nopeDim, c.kvRank) * H; // q_nope · W_UKᵀ per head
    attn += H * T * (mm(1, c.kvRank) + mm(1, rope)); // scores against latent and RoPE key
    attn += H * T * mm(1, c.kvRank); // weights · latent
    attn += H * mm(c.kvRank, s.headDim); // · W_UV per head
  }
  return c.nLayers * (attn + mlpPerLayer) + head;
}

/**
 * FLOPs of one MLA layer's attention for `t` new queries against `cached` tokens (the new ones included), two ways:
 * - absorbed: queries into latent space (q_nope · W_UKᵀ), scores against the latent and the RoPE key, weights ·
 *   latent, then · W_UV per head: every query pays H·(2·Rkv + R) per cached token;
 * - expanded: each cached latent re-expanded once through W_ukv to per-head K and V, then plain attention: the
 *   expansion is paid once per call, shared by all t queries.
 * A decode step (t = 1) is cheaper absorbed; a prefill of more than a few dozen tokens is cheaper expanded, which is
 * how an absorbed cache is filled (the cache holds the same latent either way).
 */
export function mlaAttentionFlops(c: ModelConfig, t: number, cached: number): { absorbed: number; expanded: number } {
  if (c.attention !== 'mla') throw new RangeError(`mlaAttentionFlops: attention '${c.attention}' is not mla`);
  const s = deriveSizes(c);
  const H = c.nHeads;
  const R = s.rotaryDim;
  const N = s.nopeDim;
  const D = s.headDim;
  const absorbed = H * t * (mm(N, c.kvRank) + cached * (mm(1, c.kvRank) + mm(1, R) + mm(1, c.kvRank)) + mm(c.kvRank, D));
  const expanded = cached * mm(c.kvRank, H * N + H * D) + H * t * cached * (mm(1, N + R) + mm(1, D));
  return { absorbed, expanded };
}

/** Whether an absorbed cache's call of `t` queries against `cached` tokens is cheaper re-expanded (mlaAttentionFlops). */
export function absorbedCallExpands(c: ModelConfig, t: number, cached: number): boolean {
  const f = mlaAttentionFlops(c, t, cached);
  return f.expanded < f.absorbed;
}
