// Benchmarks of the real model: training throughput through the trainer itself (forward, backward, clipping,
// AdamW, metrics), and decode time per token in a cache mode at a given context.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../config/model-config';
import type { CacheMode } from '../costs/cache-modes';
import { Rng } from '../data/prng';
import { decodeCostAt } from '../experiments/timing';
import { spread, Spread } from '../experiments/stats';
import { createModel } from '../model/gpt';
import { readMetrics } from '../train/run-dir';
import { train } from '../train/trainer';
import type { BatchSource, StepMetrics } from '../train/types';

/** Uniformly random tokens: throughput does not depend on what the tokens are. */
class RandomTokens implements BatchSource {
  private rng: Rng;
  constructor(private readonly vocab: number, seed: number) {
    this.rng = new Rng(seed);
  }
  next(batch: number, seqLen: number) {
    const ids = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = this.rng.int(this.vocab);
      targets[i] = this.rng.int(this.vocab);
    }
    return { ids, targets };
  }
  getState() {
    return this.rng.state;
  }
  setState(s: unknown) {
    this.rng = new Rng(s as number);
  }
}

export interface TrainBenchSettings {
  batch: number;
  seqLen: number;
  accum: number;
  warmup: number;
  steps: number;
}

export interface TrainBenchResult {
  /** Training tokens per second over the timed steps (after warm-up). */
  tokensPerSec: Spread;
  stepMs: Spread;
  finalLoss: number;
}

export async function runTrainBench(config: ModelConfig, s: TrainBenchSettings): Promise<TrainBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-train-'));
  const model = createModel(config, 0);
  try {
    const total = s.warmup + s.steps;
    await train(
      model,
      { train: new RandomTokens(config.vocabSize, 1) },
      { tokens: total * s.batch * s.seqLen * s.accum, batchSize: s.batch, seqLen: s.seqLen, accumSteps: s.accum, outDir: dir, progress: 'none', checkpointEvery: 0 },
    );
    const steps = readMetrics(dir).filter((m): m is StepMetrics => m.kind === 'train').slice(s.warmup);
    return {
      tokensPerSec: spread(steps.map((m) => m.tokensPerSec)),
      stepMs: spread(steps.map((m) => (1000 * s.batch * s.seqLen * s.accum) / m.tokensPerSec)),
      finalLoss: steps[steps.length - 1].loss,
    };
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface DecodeBenchResult {
  cache: CacheMode;
  context: number;
  msPerToken: Spread;
  cacheBytes: number;
}

export async function runDecodeBench(config: ModelConfig, cache: CacheMode, context: number, steps: number): Promise<DecodeBenchResult> {
  const model = createModel(config, 0);
  try {
    const p = await decodeCostAt(model, cache, context, steps);
    return { cache, context, msPerToken: p.msPerToken, cacheBytes: p.cacheBytes };
  } finally {
    model.dispose();
  }
}
