// Perplexity of a model on a token split: exp of the mean next-token cross-entropy, covering the split in order
// with non-overlapping windows. Window i predicts tokens[i·T + 1 .. i·T + T] from tokens[i·T .. i·T + T − 1],
// so every token after the first is scored exactly once; the last window may be shorter than T.
import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../data/errors';
import type { LanguageModel } from '../model/types';

export interface PerplexityOptions {
  /** Window length T (at most the model's maxSeqLen). */
  seqLen: number;
  /** Windows per forward pass, at most: fewer when batchSize·T·V logits would exceed maxLogits. */
  batchSize: number;
  /** Score only the first maxTokens predictions (0 or undefined: the whole split). */
  maxTokens?: number;
  /**
   * Most logits one forward pass may hold (default MAX_LOGITS_PER_PASS). The score is a sum over windows, so
   * splitting a batch changes nothing but the rounding.
   */
  maxLogits?: number;
}

/**
 * 2^28 fp32 logits, 1 GiB: half of WebGPU's usual maxStorageBufferBindingSize (2 GiB − 4 on Dawn). A latentQuant
 * forward of 128 windows × 1,024 tokens × 10,000 words asked Dawn for one 5.2 GB binding and was refused.
 */
export const MAX_LOGITS_PER_PASS = 2 ** 28;

export interface PerplexityResult {
  /** Mean cross-entropy per scored token, in nats. */
  loss: number;
  perplexity: number;
  /** Tokens scored (predictions made). */
  tokens: number;
}

/** Sum of the cross-entropy over windows given as row-major (rows, len) ids and targets. */
// Read back asynchronously: WebGPU in Node has no synchronous read (dataSync needs an OffscreenCanvas).
async function scoreWindows(model: LanguageModel, ids: Int32Array, targets: Int32Array, rows: number, len: number): Promise<number> {
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(ids, [rows, len], 'int32');
    const y = tf.tensor2d(targets, [rows, len], 'int32');
    return model.loss(x, y, { training: false });
  });
  const [mean] = await loss.data();
  loss.dispose();
  // loss() is a mean over rows·len tokens; scale back to a sum so windows of different lengths weigh by tokens.
  return mean * rows * len;
}

export async function perplexity(model: LanguageModel, tokens: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  const T = opts.seqLen;
  if (!Number.isInteger(T) || T <= 0 || T > model.config.maxSeqLen) {
    throw new DataError(`perplexity: seqLen ${T} must be an integer in 1..maxSeqLen (${model.config.maxSeqLen})`);
  }
  if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new DataError(`perplexity: batchSize ${opts.batchSize} must be a positive integer`);
  const available = Math.max(0, tokens.length - 1);
  const scored = opts.maxTokens ? Math.min(available, opts.maxTokens) : available;
  if (scored === 0) throw new DataError(`perplexity needs at least 2 tokens; the split has ${tokens.length}`);
  const V = model.config.vocabSize;
  for (let i = 0; i <= scored; i++) {
    const t = tokens[i];
    if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new DataError(`token ${i} of the split is ${t}, outside the vocabulary [0, ${V})`);
  }

  const maxLogits = opts.maxLogits ?? MAX_LOGITS_PER_PASS;
  if (!(maxLogits >= T * V)) throw new DataError(`perplexity: maxLogits ${maxLogits} is below one window's ${T * V} logits (seqLen ${T} × vocabulary ${V})`);
  const perPass = Math.min(opts.batchSize, Math.floor(maxLogits / (T * V)));
  const fullWindows = Math.floor(scored / T);
  let sum = 0;
  for (let w0 = 0; w0 < fullWindows; w0 += perPass) {
    const rows = Math.min(perPass, fullWindows - w0);
    const ids = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      const start = (w0 + r) * T;
      for (let t = 0; t < T; t++) {
        ids[r * T + t] = tokens[start + t];
        targets[r * T + t] = tokens[start + t + 1];
      }
    }
    sum += await scoreWindows(model, ids, targets, rows, T);
  }
  const tail = scored - fullWindows * T;
  if (tail > 0) {
    const start = fullWindows * T;
    const ids = new Int32Array(tail);
    const targets = new Int32Array(tail);
    for (let t = 0; t < tail; t++) {
      ids[t] = tokens[start + t];
      targets[t] = tokens[start + t + 1];
    }
    sum += await scoreWindows(model, ids, targets, 1, tail);
  }
  const loss = sum / scored;
  return { loss, perplexity: Math.exp(loss), tokens: scored };
}
