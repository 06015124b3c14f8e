// Validation of ModelConfig: every rule names the field, the bad value and what is allowed, so a typo in
// `--set` or a preset file fails before any tensor is made.
import { ATTENTION_KINDS, AttentionKind, LATENT_NORMS, ModelConfig, POSITION_KINDS, deriveSizes, isDecoupled } from './model-config';

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`invalid config: ${field} = ${JSON.stringify(value)}; ${allowed}`);
    this.name = 'ConfigError';
  }
}

function positiveInt(c: ModelConfig, field: keyof ModelConfig): void {
  const v = c[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(field, v, 'must be a positive integer');
  }
}

/** Throws ConfigError on the first rule the config breaks; returns it unchanged otherwise. */
export function validateConfig(c: ModelConfig): ModelConfig {
  for (const f of ['vocabSize', 'maxSeqLen', 'dModel', 'nLayers', 'nHeads', 'mlpRatio'] as const) positiveInt(c, f);
  if (!ATTENTION_KINDS.includes(c.attention)) {
    throw new ConfigError('attention', c.attention, `allowed: ${ATTENTION_KINDS.join(', ')}`);
  }
  if (!POSITION_KINDS.includes(c.positions)) {
    throw new ConfigError('positions', c.positions, `allowed: ${POSITION_KINDS.join(', ')}`);
  }
  if (c.dModel % c.nHeads !== 0) {
    throw new ConfigError('nHeads', c.nHeads, `must divide dModel = ${c.dModel}`);
  }
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1)) {
    throw new ConfigError('dropout', c.dropout, 'must be a number in [0, 1)');
  }
  if (!(typeof c.ropeTheta === 'number' && c.ropeTheta > 1)) {
    throw new ConfigError('ropeTheta', c.ropeTheta, 'must be a number > 1');
  }
  validateKvHeads(c);
  validateRanks(c);
  validateLatentNorm(c);
  validateRope(c);
  return c;
}

function validateKvHeads(c: ModelConfig): void {
  if (isDecoupled(c.attention)) return;
  positiveInt(c, 'nKvHeads');
  const want: Partial<Record<AttentionKind, number>> = { mha: c.nHeads, mqa: 1 };
  const fixed = want[c.attention];
  if (fixed !== undefined && c.nKvHeads !== fixed) {
    throw new ConfigError('nKvHeads', c.nKvHeads, `attention '${c.attention}' needs nKvHeads = ${fixed}`);
  }
  if (c.nHeads % c.nKvHeads !== 0 || c.nKvHeads > c.nHeads) {
    throw new ConfigError('nKvHeads', c.nKvHeads, `must divide nHeads = ${c.nHeads}`);
  }
}

function validateRanks(c: ModelConfig): void {
  for (const f of ['qRank', 'kvRank'] as const) {
    const v = c[f];
    if (c.attention !== 'mla') {
      if (v !== 0) throw new ConfigError(f, v, `only MLA has latent ranks; must be 0 for attention '${c.attention}'`);
      continue;
    }
    if (!Number.isInteger(v) || v <= 0 || v > c.dModel) {
      throw new ConfigError(f, v, `must be an integer in 1..dModel (${c.dModel}) for MLA`);
    }
  }
}

function validateLatentNorm(c: ModelConfig): void {
  if (c.latentNorm === undefined) return;
  if (!LATENT_NORMS.includes(c.latentNorm)) throw new ConfigError('latentNorm', c.latentNorm, `allowed: ${LATENT_NORMS.join(', ')}`);
  if (c.attention !== 'mla') {
    throw new ConfigError('latentNorm', c.latentNorm, `only MLA has latents; leave it out for attention '${c.attention}'`);
  }
}

function validateRope(c: ModelConfig): void {
  const { headDim } = deriveSizes(c);
  const r = c.ropeDim;
  if (!Number.isInteger(r) || r < 0) throw new ConfigError('ropeDim', r, 'must be a non-negative integer');
  if (r % 2 !== 0) throw new ConfigError('ropeDim', r, 'must be even (RoPE rotates pairs of dims)');
  if (c.positions === 'learned') {
    if (r !== 0) throw new ConfigError('ropeDim', r, "must be 0 with positions = 'learned'");
    if (c.attention === 'mha-decoupled-rope') {
      throw new ConfigError('positions', c.positions, "attention 'mha-decoupled-rope' needs positions = 'rope'");
    }
    return;
  }
  if (isDecoupled(c.attention)) {
    if (r <= 0 || r > headDim) {
      throw new ConfigError('ropeDim', r, `decoupled RoPE needs an even ropeDim with 0 < ropeDim ≤ head dim (${headDim}); ${headDim} makes every key the one shared RoPE key`);
    }
  } else if (r > headDim) {
    throw new ConfigError('ropeDim', r, `attention '${c.attention}' rotates at most the whole head: use 0 or ${headDim} (whole head) or an even value below ${headDim} (partial RoPE)`);
  }
  if (headDim % 2 !== 0) throw new ConfigError('nHeads', c.nHeads, `RoPE needs an even head dim; got ${headDim}`);
}
