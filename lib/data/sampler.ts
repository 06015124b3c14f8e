// Packing the token stream into training and evaluation batches.
// Shape legend: B batch size (rows), T sequence length.
// The stream (documents each followed by end-of-text, see token-cache.ts) is cut into chunks of T+1 tokens that
// start every T tokens: chunk i = tokens[i·T … i·T+T], inputs = chunk[0..T), targets = chunk[1..T]. Neighbouring
// chunks share one token, so every token after the first is a target of exactly one chunk.
import { DataError } from './errors';
import { Rng, deriveSeed, permutation } from './prng';
import type { TokenArray } from './token-cache';

export interface SamplerOptions {
  seqLen: number;
  batchSize: number;
  seed: number;
}

/** The sampler's position: restoring it continues the exact batch sequence. JSON-serialisable. */
export interface SamplerState {
  /** Epochs completed (0 during the first pass). */
  epoch: number;
  /** Batches already drawn in this epoch. */
  index: number;
  seed: number;
}

export interface Batch {
  /** (B, T) row-major token ids. */
  inputs: Int32Array;
  /** (B, T) row-major: inputs shifted left by one. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new DataError(`${name} must be a positive integer, got ${v}`);
}

/** Number of full chunks of seqLen+1 tokens at stride seqLen. */
export function chunkCount(tokens: number, seqLen: number): number {
  return tokens > seqLen ? Math.floor((tokens - 1) / seqLen) : 0;
}

/** Writes chunk `c` into row `r` of inputs/targets (B, T). */
function copyChunk(tokens: TokenArray, c: number, T: number, r: number, inputs: Int32Array, targets: Int32Array): void {
  const start = c * T;
  inputs.set(tokens.subarray(start, start + T), r * T);
  targets.set(tokens.subarray(start + 1, start + T + 1), r * T);
}

/** Random batches for training: each epoch visits every chunk once, in a seeded order of its own (the last
 * numChunks mod B chunks of each epoch's order are skipped, a different set every epoch). */
export class BatchSampler {
  readonly seqLen: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly numChunks: number;
  readonly batchesPerEpoch: number;
  private epoch = 0;
  private index = 0;
  private order: Uint32Array | undefined;
  private orderEpoch = -1;

  constructor(
    private readonly tokens: TokenArray,
    opts: SamplerOptions,
  ) {
    checkPositiveInt('seqLen', opts.seqLen);
    checkPositiveInt('batchSize', opts.batchSize);
    if (!Number.isFinite(opts.seed)) throw new DataError(`sampler seed must be a number, got ${opts.seed}`);
    this.seqLen = opts.seqLen;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed >>> 0;
    this.numChunks = chunkCount(tokens.length, opts.seqLen);
    this.batchesPerEpoch = Math.floor(this.numChunks / opts.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(
        `${tokens.length} tokens make ${this.numChunks} chunks of seqLen ${opts.seqLen} + 1, fewer than one batch of ${opts.batchSize}; ` +
          'use a smaller seqLen or batch size, or more data',
      );
    }
  }

  /** A sampler at `state`: its next batch is the one the saved sampler would have drawn next. */
  static restore(tokens: TokenArray, opts: Omit<SamplerOptions, 'seed'> & { seed?: number }, state: SamplerState): BatchSampler {
    if (opts.seed !== undefined && opts.seed >>> 0 !== state.seed >>> 0) {
      throw new DataError(`sampler state has seed ${state.seed} but the options say ${opts.seed}; resume with the run's original seed`);
    }
    const s = new BatchSampler(tokens, { ...opts, seed: state.seed });
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.index) || state.index < 0 || state.index >= s.batchesPerEpoch) {
      throw new DataError(`sampler state ${JSON.stringify(state)} is out of range (batchesPerEpoch ${s.batchesPerEpoch}); was it saved for other data or batch shape?`);
    }
    s.epoch = state.epoch;
    s.index = state.index;
    return s;
  }

  get state(): SamplerState {
    return { epoch: this.epoch, index: this.index, seed: this.seed };
  }

  /** Chunk order of `epoch`, a function of (seed, epoch) only. */
  epochOrder(epoch: number): Uint32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      this.order = permutation(this.numChunks, new Rng(deriveSeed(this.seed, epoch)));
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  next(): Batch {
    const B = this.batchSize;
    const T = this.seqLen;
    const order = this.epochOrder(this.epoch);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let r = 0; r < B; r++) copyChunk(this.tokens, order[this.index * B + r], T, r, inputs, targets);
    if (++this.index === this.batchesPerEpoch) {
      this.index = 0;
      this.epoch++;
    }
    return { inputs, targets, batchSize: B, seqLen: T };
  }
}

export interface EvalBatch extends Batch {
  /** (B, T): 1 where the target counts, 0 on padding after the end of the split. */
  mask: Float32Array;
  /** Targets that count in this batch (sum of mask). */
  count: number;
}

/** Batches covering the split in order for evaluation: chunks at stride T, so every token after the first is a
 * target exactly once. The last chunk is padded (inputs and targets 0, mask 0) and the last batch may have fewer
 * than batchSize rows. */
export function* sequentialBatches(tokens: TokenArray, opts: { seqLen: number; batchSize: number }): Generator<EvalBatch> {
  checkPositiveInt('seqLen', opts.seqLen);
  checkPositiveInt('batchSize', opts.batchSize);
  const T = opts.seqLen;
  const n = tokens.length;
  const chunks = n > 1 ? Math.ceil((n - 1) / T) : 0;
  for (let c0 = 0; c0 < chunks; c0 += opts.batchSize) {
    const B = Math.min(opts.batchSize, chunks - c0);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const mask = new Float32Array(B * T);
    let count = 0;
    for (let r = 0; r < B; r++) {
      const start = (c0 + r) * T;
      const len = Math.min(T, n - 1 - start); // targets available in this chunk
      inputs.set(tokens.subarray(start, start + len), r * T);
      targets.set(tokens.subarray(start + 1, start + 1 + len), r * T);
      mask.fill(1, r * T, r * T + len);
      count += len;
    }
    yield { inputs, targets, mask, count, batchSize: B, seqLen: T };
  }
}
