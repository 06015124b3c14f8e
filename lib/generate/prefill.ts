// A long prompt fed into a decode state in pieces. One decode call over a whole prompt holds activations of B·T
// rows, logits of (B, T, V) and, where attention is not fused (the CPU), scores of (B, H, T, T): at batch 64 and
// 32k tokens the logits alone are 84 GB, and at batch 1 and 16k the CPU's scores are 17 GB per layer. In pieces of
// at most `maxTokensPerCall` tokens (B·t) each call holds B·t rows and (B, H, t, cached) scores, and only the last
// position's logits are kept: what a sampler or a decode timing needs. The cache ends up the same as after one call
// (each piece attends to every cached token before it), so decoding from it gives the same logits.
// Shape legend: B sequences, T prompt tokens, t tokens per piece, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import { cacheCapacity } from '../attention/cache-utils';
import type { LayerCache } from '../attention/types';
import type { DecodeState, GPT } from '../model/gpt';
import { hasCacheWriteKernel } from '../ops/cache-write';

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

/** Tokens of a tiled prefill that are prefilled for real: their cached rows are what it repeats. */
export const TILE_SEED_TOKENS = 256;

/**
 * A cache that holds T tokens per sequence for a decode **timing**, at the cost of a prefill of `seedTokens`: the
 * first `seedTokens` positions of `ids` (B, T) are prefilled for real, then every cached tensor's rows are repeated
 * along time up to T (rows i and i + seedTokens equal), in the buffer layout a real prefill leaves (a capacity
 * of whole CACHE_GRANULEs, and at least the caches' `reserve`, where the backend writes in place). The next decode step then reads exactly the rows, shapes and
 * buffers it would after a real prefill of T tokens, so it does the same work; its logits are not those of the
 * prompt (the repeated rows keep the positions and the keys of the seed). The returned logits are the seed's last
 * position's. A prefill at batch 64 × 32k tokens of a 35M model takes minutes on an H200: a tiled one, seconds.
 * Without a cache (mode 'none') or for T ≤ seedTokens it is the real prefill.
 */
export function tiledPrefill(model: GPT, ids: tf.Tensor2D, state: DecodeState, seedTokens = TILE_SEED_TOKENS): PrefillResult {
  if (!Number.isInteger(seedTokens) || seedTokens < 1) throw new RangeError(`tiledPrefill: seedTokens must be a positive integer, got ${seedTokens}`);
  const [B, T] = ids.shape;
  if (state.mode === 'none' || T <= seedTokens) return prefill(model, ids, state);
  if (state.length !== 0) throw new RangeError(`tiledPrefill: the decode state already holds ${state.length} tokens; a tiled prefill starts from model.startDecode()`);
  const seed = tf.slice(ids, [0, 0], [B, seedTokens]) as tf.Tensor2D; // (B, s)
  // The seed into buffers of its own size (not the reserve: they are copied out below), the reserve kept for the tiles.
  const reserves = state.caches.map((c) => c.reserve);
  const r = prefill(model, seed, { ...state, caches: state.caches.map(({ reserve: _r, ...c }) => c) });
  seed.dispose();
  const padded = hasCacheWriteKernel();
  const caches = r.state.caches.map((c, i): LayerCache => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, buf] of Object.entries(c.tensors)) tensors[k] = repeatRows(buf, c.length, T, padded ? cacheCapacity(T, reserves[i]) : T);
    return { ...c, length: T, tensors, ...(reserves[i] ? { reserve: reserves[i] } : {}) };
  });
  for (const c of r.state.caches) for (const t of Object.values(c.tensors)) t.dispose(); // the seed's buffers (a weight memo carries over)
  return { logits: r.logits, state: { ...r.state, length: T, caches }, calls: r.calls };
}

/** buf (B, X, S, W) holding `rows` written rows -> (B, X, cap, W): those rows repeated to T, zeros past T (cap ≥ T). */
function repeatRows(buf: tf.Tensor, rows: number, T: number, cap: number): tf.Tensor {
  return tf.tidy(() => {
    const [B, X, , W] = buf.shape as [number, number, number, number];
    const written = tf.slice(buf, [0, 0, 0, 0], [B, X, rows, W]); // (B, X, rows, W)
    const reps = Math.ceil(T / rows);
    const body = tf.slice(tf.tile(written, [1, 1, reps, 1]), [0, 0, 0, 0], [B, X, T, W]); // (B, X, T, W)
    // A new tensor either way (concat with the zero rows, or an add that copies; not a clone or a slice, which a
    // backend may let share storage): the cache is written in place later, so it must own its storage.
    return cap === T ? tf.add(body, 0) : tf.concat([body, tf.zeros([B, X, cap - T, W], buf.dtype)], 2); // (B, X, cap, W)
  });
}
