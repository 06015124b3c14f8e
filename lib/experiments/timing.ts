// Inference timing as the study ran it (Experiment 3), made sound: a prompt of one repeated token, greedy
// decoding, batch 1; but with warm-up runs and repeats, reporting medians with their spread (the original timed
// each point once, with no warm-up). Also per-token decode cost against context length, beyond the study.
import * as tf from '@tensorflow/tfjs-core';
import { CacheMode } from '../costs/cache-modes';
import { kvCacheBytesForContext } from '../costs/kv-cache';
import { generate } from '../generate/generate';
import { prefill } from '../generate/prefill';
import type { GPT } from '../model/gpt';
import { Spread, spread } from './stats';

export interface GenerationTiming {
  cache: CacheMode;
  promptTokens: number;
  newTokens: number;
  /** Wall-clock milliseconds of the whole generation (prefill + every step), over the repeats. */
  totalMs: Spread;
}

export interface GenerationTimingOptions {
  promptTokens: number;
  newTokens: number;
  cache: CacheMode;
  repeats: number;
  /** Untimed runs first, so one-off costs (kernel set-up, allocation) are not measured. */
  warmup: number;
  /** The token repeated as the prompt (the study used " the"). */
  promptToken: number;
}

export async function timeGeneration(model: GPT, o: GenerationTimingOptions): Promise<GenerationTiming> {
  const prompt = [Array.from({ length: o.promptTokens }, () => o.promptToken)];
  const once = async () => {
    const t0 = performance.now();
    await generate(model, prompt, { maxNewTokens: o.newTokens, cache: o.cache });
    return performance.now() - t0;
  };
  for (let i = 0; i < o.warmup; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < o.repeats; i++) ms.push(await once());
  return { cache: o.cache, promptTokens: o.promptTokens, newTokens: o.newTokens, totalMs: spread(ms) };
}

export interface DecodeCostPoint {
  cache: CacheMode;
  /** Tokens in the cache when the timed steps run. */
  context: number;
  /** Milliseconds per decode step at that context, over `steps` steps. */
  msPerToken: Spread;
  /** Bytes the cache holds at that context (fp32, batch 1), from the cost functions. */
  cacheBytes: number;
  /** Steps (warm-up and timed) that replayed a step graph (MLA_WEBGPU_DECODE_GRAPH; 0 without graphs). */
  replayedSteps: number;
}

/** Per-token decode time with `context` tokens already cached: a prefill (in pieces), then `steps` timed single steps. */
export async function decodeCostAt(model: GPT, cache: CacheMode, context: number, steps: number, warmupSteps = 2): Promise<DecodeCostPoint> {
  if (context + warmupSteps + steps > model.config.maxSeqLen) {
    throw new RangeError(`context ${context} + ${warmupSteps + steps} steps exceeds maxSeqLen ${model.config.maxSeqLen}`);
  }
  let state = model.startDecode(1, cache);
  const prompt = tf.tensor2d([Array.from({ length: context }, (_, i) => (i * 7919) % model.config.vocabSize)], undefined, 'int32');
  const pre = prefill(model, prompt, state); // in pieces: one call at 16k tokens would hold (T, T) scores per head on the CPU
  prompt.dispose();
  pre.logits.dispose();
  state = pre.state;
  const ms: number[] = [];
  const graphs = state.graphs;
  const replayedBefore = graphs?.stats.replayed ?? 0;
  const token = tf.tensor2d([[1]], [1, 1], 'int32');
  try {
    for (let i = 0; i < warmupSteps + steps; i++) {
      const t0 = performance.now();
      const r = model.decode(token, state);
      await r.logits.data(); // wait for the step to finish on asynchronous backends
      r.logits.dispose();
      state = r.state;
      if (i >= warmupSteps) ms.push(performance.now() - t0);
    }
  } finally {
    token.dispose();
    model.endDecode(state);
  }
  const replayedSteps = (graphs?.stats.replayed ?? 0) - replayedBefore;
  return { cache, context, msPerToken: spread(ms), cacheBytes: cache === 'none' ? 0 : kvCacheBytesForContext(model.config, context, { mode: cache }), replayedSteps };
}
