// The trainer's view of a prepared dataset: lib/data's BatchSampler (seeded, resumable) over the training split
// as a BatchSource, the validation split for perplexity, and what config.json records about the data.
import { deriveSeed } from '../data/prng';
import type { TrainingDataset } from '../data/packed';
import { BatchSampler, SamplerState } from '../data/sampler';
import { formatDataSpec } from '../data/spec';
import type { SplitName } from '../data/split';
import type { TokenArray } from '../data/token-cache';
import { TrainingError } from './errors';
import type { BatchSource, TrainData } from './types';

/** The data order's seed is derived from the run seed, apart from the model init (the seed itself) and dropout. */
const DATA_STREAM = 0xda7a;

export class SamplerSource implements BatchSource {
  private sampler: BatchSampler;

  constructor(
    private readonly tokens: TokenArray,
    private readonly opts: { batchSize: number; seqLen: number; seed: number },
  ) {
    this.sampler = new BatchSampler(tokens, opts);
  }

  next(batch: number, seqLen: number): { ids: Int32Array; targets: Int32Array } {
    if (batch !== this.opts.batchSize || seqLen !== this.opts.seqLen) {
      throw new TrainingError(`the sampler makes ${this.opts.batchSize}×${this.opts.seqLen} batches, the trainer asked for ${batch}×${seqLen}`);
    }
    const b = this.sampler.next();
    return { ids: b.inputs, targets: b.targets };
  }

  getState(): unknown {
    return this.sampler.state;
  }

  setState(state: unknown): void {
    this.sampler = BatchSampler.restore(this.tokens, this.opts, state as SamplerState);
  }
}

export interface DatasetTrainOptions {
  batchSize: number;
  seqLen: number;
  /** The run seed; the sampler gets a seed derived from it. */
  seed: number;
  /** The split validated on (default 'val'). */
  evalSplit?: SplitName;
}

/** What config.json records about a dataset; with the tokenizer's hash (added by the trainer) it is the run's data identity. */
export function describeTrainData(ds: TrainingDataset, evalSplit: SplitName = 'val'): Record<string, unknown> {
  return {
    spec: formatDataSpec(ds.spec),
    name: ds.name,
    corpusHash: ds.corpusHash,
    vocabSize: ds.vocabSize,
    eotId: ds.eotId,
    tokenizer: ds.tokenizerPath,
    tokenCounts: ds.tokenCounts,
    evalSplit,
  };
}

export function trainDataFromDataset(ds: TrainingDataset, o: DatasetTrainOptions): TrainData {
  const split = o.evalSplit ?? 'val';
  return {
    train: new SamplerSource(ds.splits.train, { batchSize: o.batchSize, seqLen: o.seqLen, seed: deriveSeed(o.seed, DATA_STREAM) }),
    val: ds.splits[split],
    describe: describeTrainData(ds, split),
  };
}
