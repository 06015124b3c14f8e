// Perplexity measured through the cached decode path: windows of a token split fed one token at a time, so every
// prediction attends to what the cache holds — in its storage format when the cache is quantized. The full
// forward (lib/eval/perplexity) is the reference it is compared with.
// Shape legend: B windows decoded side by side, T window length, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import { CacheMode } from '../costs/cache-modes';
import type { CacheQuant } from '../costs/kv-cache';
import { GPT, tokenCrossEntropy } from '../model/gpt';
import { startQuantizedDecode } from './cache-quant';

export interface DecodePerplexityOptions {
  /** Window length T: each window predicts its tokens 1 .. T from 0 .. T−1 (at most maxSeqLen). */
  seqLen: number;
  /** Windows decoded side by side (non-overlapping, from the start of `tokens`). */
  windows: number;
  mode: CacheMode;
  /** Latent-cache format (MLA 'latent'/'absorbed' only); default fp32. */
  quant?: CacheQuant;
}

export async function decodePerplexity(model: GPT, tokens: ArrayLike<number>, o: DecodePerplexityOptions): Promise<{ loss: number; perplexity: number; tokens: number }> {
  const T = o.seqLen;
  if (!Number.isInteger(T) || T < 1 || T > model.config.maxSeqLen) throw new RangeError(`seqLen ${T} must be an integer in 1..maxSeqLen (${model.config.maxSeqLen})`);
  const B = Math.min(o.windows, Math.floor((tokens.length - 1) / T));
  if (B < 1) throw new RangeError(`${tokens.length} tokens hold no window of ${T} + 1; pass fewer seqLen or more tokens`);
  const rows = Array.from({ length: B }, (_, b) => Array.from({ length: T + 1 }, (_, t) => tokens[b * T + t]));
  let state = o.quant ? startQuantizedDecode(model, B, o.mode, o.quant) : model.startDecode(B, o.mode);
  let total = 0;
  try {
    for (let t = 0; t < T; t++) {
      const x = tf.tensor2d(rows.map((r) => [r[t]]), [B, 1], 'int32'); // (B, 1)
      const step = model.decode(x, state);
      x.dispose();
      state = step.state;
      const sum = tf.tidy(() => tf.sum(tokenCrossEntropy(step.logits, tf.tensor2d(rows.map((r) => [r[t + 1]]), [B, 1], 'int32'))));
      step.logits.dispose();
      total += (await sum.data())[0]; // async: WebGPU in Node has no synchronous read
      sum.dispose();
    }
  } finally {
    model.endDecode(state);
  }
  const loss = total / (B * T);
  return { loss, perplexity: Math.exp(loss), tokens: B * T };
}
