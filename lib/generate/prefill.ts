// A long prompt fed into a decode state in pieces. One decode call over a whole prompt holds activations of B·T
// rows, logits of (B, T, V) and, where attention is not fused (the CPU), scores of (B, H, T, T): at batch 64 and
// 32k tokens the logits alone are 84 GB, and at batch 1 and 16k the CPU's scores are 17 GB per layer. In pieces of
// at most `maxTokensPerCall` tokens (B·t) each call holds B·t rows and (B, H, t, cached) scores, and only the last
// position's logits are kept: what a sampler or a decode timing needs. The cache ends up the same as after one call
// (each piece attends to every cached token before it), so decoding from it gives the same logits.
// Shape legend: B sequences, T prompt tokens, t tokens per piece, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import type { DecodeState, GPT } from '../model/gpt';

/** Tokens (B·t) per decode call of a prefill: one call for any prompt up to this size. */
export const PREFILL_TOKENS_PER_CALL = 2048;

export interface PrefillResult {
  /** Logits of each sequence's last prompt position, (B, 1, V). */
  logits: tf.Tensor3D;
  state: DecodeState;
  /** Decode calls the prompt took. */
  calls: number;
}

/**
 * Feeds `ids` (B, T) into `state` in pieces of ⌊maxTokensPerCall / B⌋ positions (at least one), returning the last
 * position's logits and the new state (the old state's tensors are disposed, as by model.decode). Without a cache
 * (mode 'none', which recomputes the whole prefix each call) the prompt goes in one call.
 */
export function prefill(model: GPT, ids: tf.Tensor2D, state: DecodeState, maxTokensPerCall = PREFILL_TOKENS_PER_CALL): PrefillResult {
  if (!Number.isInteger(maxTokensPerCall) || maxTokensPerCall < 1) {
    throw new RangeError(`prefill: maxTokensPerCall must be a positive integer, got ${maxTokensPerCall}`);
  }
  const [B, T] = ids.shape;
  const piece = state.mode === 'none' ? T : Math.max(1, Math.floor(maxTokensPerCall / B));
  let calls = 0;
  let last: tf.Tensor3D | undefined;
  for (let start = 0; start < T; start += piece) {
    const t = Math.min(piece, T - start);
    const part = t === T ? ids : (tf.slice(ids, [0, start], [B, t]) as tf.Tensor2D); // (B, t)
    const r = model.decode(part, state);
    if (part !== ids) part.dispose();
    state = r.state;
    calls++;
    if (start + t < T) {
      r.logits.dispose(); // only the last piece's last position is kept
      continue;
    }
    const V = r.logits.shape[2];
    last = t === 1 ? r.logits : (tf.slice(r.logits, [0, t - 1, 0], [B, 1, V]) as tf.Tensor3D); // (B, 1, V)
    if (last !== r.logits) r.logits.dispose();
  }
  if (!last) throw new RangeError('prefill: the prompt holds no tokens');
  return { logits: last, state, calls };
}
