// The one model configuration type. Every model of the lab — MHA, GQA, MQA, MLA with or without decoupled
// RoPE, MHA with decoupled RoPE — is a ModelConfig; presets (presets.ts) are partial ModelConfigs merged
// over DEFAULT_CONFIG. Derived sizes live in deriveSizes() and nowhere else.

/** Which attention mechanism each block uses. */
export type AttentionKind = 'mha' | 'gqa' | 'mqa' | 'mla' | 'mha-decoupled-rope';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['mha', 'gqa', 'mqa', 'mla', 'mha-decoupled-rope'];

/** How positions enter the model: a learned table added to the embeddings, or rotary embeddings in attention. */
export type PositionKind = 'learned' | 'rope';
export const POSITION_KINDS: readonly PositionKind[] = ['learned', 'rope'];

/** What MLA does to its query and KV latents before the up-projections. */
export type LatentNorm = 'layernorm' | 'none';
export const LATENT_NORMS: readonly LatentNorm[] = ['layernorm', 'none'];

export interface ModelConfig {
  // --- vocabulary and sequence ---
  /** Number of token ids (the original trained a 10,000-token byte-level BPE). */
  vocabSize: number;
  /** Longest sequence the model accepts; sizes the learned position table and the RoPE tables. */
  maxSeqLen: number;

  // --- trunk ---
  /** Residual stream width C. */
  dModel: number;
  /** Number of transformer blocks L. */
  nLayers: number;
  /** Hidden width of the MLP as a multiple of dModel (the original: 4, ReLU). */
  mlpRatio: number;
  /** Dropout probability after the MLP (the original's only dropout: 0.1). Active only in training. */
  dropout: number;

  // --- attention ---
  /** The attention mechanism. */
  attention: AttentionKind;
  /** Query heads H; must divide dModel (head dim D = dModel / nHeads). */
  nHeads: number;
  /**
   * Key/value heads for the MHA family: equals nHeads for 'mha', 1 for 'mqa', a divisor of nHeads for 'gqa'.
   * Ignored (and reported as nHeads) for 'mla' and 'mha-decoupled-rope', which have per-head K and V.
   */
  nKvHeads: number;
  /** MLA only: width of the query latent (the original: dModel / 2). 0 for other kinds. */
  qRank: number;
  /** MLA only: width of the cached key/value latent (the original: floor(2 dModel / 3)). 0 for other kinds. */
  kvRank: number;
  /**
   * MLA only: 'layernorm' (the original and the default when absent) puts a LayerNorm on the query latent and
   * on the KV latent; 'none' leaves both latents linear, with no q_norm / kv_norm tensors. 'none' exists for
   * models converted from MHA (lib/convert): a LayerNorm between W_down and W_up would make the factorised
   * attention a different function of x, so the conversion could not be exact. Optional so that every config
   * written before it existed (checkpoints, run hashes) reads and hashes the same; other kinds leave it out.
   */
  latentNorm?: LatentNorm;

  // --- positions ---
  /** Learned absolute positions or RoPE. */
  positions: PositionKind;
  /**
   * Decoupled kinds ('mla', 'mha-decoupled-rope') with RoPE: the dims of every head that carry RoPE (the
   * original: D / 2 = 16); the other D - ropeDim dims carry none. Must be even, 0 < ropeDim ≤ D: with D there is
   * no no-RoPE part, and every key is the one RoPE key shared by all heads (values stay per head).
   * MHA/GQA/MQA with RoPE rotate the whole head with ropeDim = 0 or D, or only the last ropeDim dims of each
   * head with 0 < ropeDim < D (partial RoPE, as MHA2MLA and GPT-NeoX's rotary_pct). With learned positions: 0.
   */
  ropeDim: number;
  /** RoPE base θ (the original: 10000). */
  ropeTheta: number;
}

/** Sizes that follow from a config, computed once here so no other file re-derives them. */
export interface DerivedSizes {
  /** Per-head dim D = dModel / nHeads. */
  headDim: number;
  /** KV heads actually materialised per layer (nHeads for the decoupled kinds). */
  kvHeads: number;
  /** Query heads sharing one KV head (GQA group size). */
  groupSize: number;
  /** Dims of each head rotated by RoPE (0 with learned positions; D for MHA-family RoPE, ropeDim for its partial RoPE). */
  rotaryDim: number;
  /** Dims of each query/key head that carry no position (D - rotaryDim for decoupled kinds and partial RoPE, else D). */
  nopeDim: number;
  /** MLP hidden width. */
  mlpHidden: number;
  /** Whether the model has a learned position table. */
  learnedPositions: boolean;
  /** Whether the attention keeps one shared, rotated RoPE key per token (decoupled kinds with RoPE). */
  sharedRopeKey: boolean;
  /** Whether MLA's latents pass through a LayerNorm (false for latentNorm 'none' and for non-MLA kinds). */
  latentNorm: boolean;
}

export const DEFAULT_CONFIG: ModelConfig = {
  vocabSize: 10000,
  maxSeqLen: 1024,
  dModel: 512,
  nLayers: 8,
  mlpRatio: 4,
  dropout: 0.1,
  attention: 'mha',
  nHeads: 16,
  nKvHeads: 16,
  qRank: 0,
  kvRank: 0,
  positions: 'learned',
  ropeDim: 0,
  ropeTheta: 10000,
};

/** Optional fields: absent means the documented default; resolveConfig accepts them in overrides. */
export const OPTIONAL_CONFIG_KEYS: readonly (keyof ModelConfig)[] = ['latentNorm'];

export function isDecoupled(kind: AttentionKind): boolean {
  return kind === 'mla' || kind === 'mha-decoupled-rope';
}

export function deriveSizes(c: ModelConfig): DerivedSizes {
  const headDim = c.dModel / c.nHeads;
  const decoupled = isDecoupled(c.attention);
  const kvHeads = decoupled ? c.nHeads : c.nKvHeads;
  const rope = c.positions === 'rope';
  // The MHA family's ropeDim 0 means the whole head (the original presets); 0 < ropeDim < D is partial RoPE.
  const partial = rope && !decoupled && c.ropeDim > 0 && c.ropeDim < headDim;
  const rotaryDim = !rope ? 0 : decoupled || partial ? c.ropeDim : headDim;
  return {
    headDim,
    kvHeads,
    groupSize: c.nHeads / kvHeads,
    rotaryDim,
    nopeDim: decoupled || partial ? headDim - rotaryDim : headDim,
    mlpHidden: c.mlpRatio * c.dModel,
    learnedPositions: !rope,
    sharedRopeKey: decoupled && rope,
    latentNorm: c.attention === 'mla' && (c.latentNorm ?? 'layernorm') === 'layernorm',
  };
}
