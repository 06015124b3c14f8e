// Autoregressive generation: a prefill of the prompts (in pieces when long, lib/generate/prefill.ts), then one
// decode step per new token, in any cache mode (or none). Every sequence of a batch must have the same prompt
// length (no padding is modelled).
import * as tf from '@tensorflow/tfjs-core';
import { CacheMode } from '../costs/cache-modes';
import { Rng } from '../data/prng';
import type { GPT } from '../model/gpt';
import { GenerateError } from './errors';
import { SamplingOptions, sampleToken } from './sampling';
import type { CacheQuant } from '../costs/kv-cache';
import { startQuantizedDecode } from './cache-quant';
import { prefill } from './prefill';
import { greedyNext, greedyStep } from './decode-loop';

export interface GenerateOptions extends Partial<SamplingOptions> {
  /** New tokens to produce per sequence. */
  maxNewTokens: number;
  /** KV-cache mode; 'none' recomputes the whole prefix every step. */
  cache: CacheMode;
  /** MLA's 'latent'/'absorbed' caches only: store the latent as int8, int4 or fp8 (default: fp32). */
  cacheQuant?: CacheQuant;
  /** Seed of the sampler (ignored when greedy). */
  seed?: number;
  /** Called after each new token with its step index, e.g. to time steps. */
  onToken?: (step: number) => void;
}

export interface GenerateResult {
  /** The new tokens per sequence (prompts excluded). */
  tokens: number[][];
  /**
   * Milliseconds of the prefill (until the first token is on the host), and of each decode step: from the moment the
   * host waits for that step's token to its arrival. Sampling (temperature > 0) reads the logits back and picks on
   * the host, so a step there is its whole latency; greedy encodes the next step before waiting, so a step there is
   * the time between two tokens of a stream.
   */
  prefillMs: number;
  stepMs: number[];
}

export async function generate(model: GPT, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  checkRequest(model, prompts, opts);
  const B = prompts.length;
  const T = prompts[0].length;
  const V = model.config.vocabSize;
  const sampling: SamplingOptions = { temperature: opts.temperature ?? 0, topK: opts.topK };
  const rng = new Rng(opts.seed ?? 0);
  const out: number[][] = prompts.map(() => []);
  const stepMs: number[] = [];

  let state = opts.cacheQuant ? startQuantizedDecode(model, B, opts.cache, opts.cacheQuant) : model.startDecode(B, opts.cache);
  const pick = async (logits: tf.Tensor3D): Promise<number[]> => {
    const last = tf.tidy(() => tf.reshape(tf.slice(logits, [0, logits.shape[1] - 1, 0], [B, 1, V]), [B, V]));
    const rows = (await last.data()) as Float32Array; // async: WebGPU in Node has no synchronous read
    last.dispose();
    logits.dispose();
    return Array.from({ length: B }, (_, b) => sampleToken(rows.subarray(b * V, (b + 1) * V), sampling, rng));
  };

  let t0 = performance.now();
  const ids = tf.tensor2d(prompts, [B, T], 'int32');
  const pre = prefill(model, ids, state); // a long prompt in pieces: no (B, T, V) logits
  ids.dispose();
  state = pre.state;
  try {
    if (sampling.temperature === 0) {
      // Greedy: the token stays on the device and step k + 1 is encoded before step k's token is read, so the GPU
      // runs one step ahead of the host (lib/generate/decode-loop.ts); each token still comes out as it is made.
      let cur = greedyNext(pre.logits); // (B, 1) int32
      pre.logits.dispose();
      let ahead: tf.Tensor2D | null = null;
      try {
        let read = (await cur.data()) as Int32Array;
        const prefillMs = performance.now() - t0;
        for (let step = 0; ; step++) {
          read.forEach((id, b) => out[b].push(id));
          opts.onToken?.(step);
          if (step === opts.maxNewTokens - 1) return { tokens: out, prefillMs, stepMs };
          if (!ahead) ahead = issue(cur);
          cur.dispose();
          cur = ahead;
          ahead = step + 1 < opts.maxNewTokens - 1 ? issue(cur) : null; // the step after, before this one's token is read
          t0 = performance.now();
          read = (await cur.data()) as Int32Array;
          stepMs.push(performance.now() - t0);
        }
      } finally {
        cur.dispose();
        ahead?.dispose();
      }
    }
    let next = await pick(pre.logits);
    const prefillMs = performance.now() - t0;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      next.forEach((id, b) => out[b].push(id));
      opts.onToken?.(step);
      if (step === opts.maxNewTokens - 1) break;
      t0 = performance.now();
      const x = tf.tensor2d(next.map((id) => [id]), [B, 1], 'int32');
      const r = model.decode(x, state);
      x.dispose();
      state = r.state;
      next = await pick(r.logits);
      stepMs.push(performance.now() - t0);
    }
    return { tokens: out, prefillMs, stepMs };
  } finally {
    model.endDecode(state);
  }

  /** Encodes the greedy step from `token` (kept) and moves the state on: the next token, not yet read. */
  function issue(token: tf.Tensor2D): tf.Tensor2D {
    const r = greedyStep(model, token, state);
    state = r.state;
    return r.next;
  }
}

/** Every check a request can fail, before any work: a bad temperature must not wait for the prefill. */
function checkRequest(model: GPT, prompts: number[][], opts: GenerateOptions): void {
  if (prompts.length === 0) throw new GenerateError('generate needs at least one prompt');
  const T = prompts[0].length;
  if (T === 0) throw new GenerateError('prompts must hold at least one token');
  if (prompts.some((p) => p.length !== T)) throw new GenerateError('all prompts of a batch must have the same length');
  const V = model.config.vocabSize;
  const bad = prompts.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad !== undefined) throw new GenerateError(`token id ${bad} of the prompt is outside the vocabulary 0..${V - 1} of this model; use ids below ${V}`);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) throw new GenerateError(`new tokens must be a positive integer, got ${opts.maxNewTokens}`);
  const P = model.config.maxSeqLen;
  if (T > P) throw new GenerateError(`the prompt has ${T} tokens, more than the model's maxSeqLen ${P}; shorten it to at most ${P - 1} so a token can follow`);
  // The last new token is never fed back, so T + n − 1 positions are used.
  if (T + opts.maxNewTokens > model.config.maxSeqLen + 1) {
    throw new GenerateError(`prompt ${T} + ${opts.maxNewTokens} new tokens exceeds maxSeqLen ${model.config.maxSeqLen}; shorten the prompt or ask for at most ${P + 1 - T} new tokens`);
  }
  const t = opts.temperature ?? 0;
  if (!(t >= 0 && Number.isFinite(t))) throw new GenerateError(`temperature must be a finite number ≥ 0 (0 = greedy), got ${t}`);
  if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 0)) throw new GenerateError(`top-k must be an integer ≥ 0 (0 = all tokens), got ${opts.topK}`);
}
