// Cached decoding as the tests drive it: a prefill of the first `prompt` tokens, then one token a step, the logits of
// every position concatenated (B, T, V), and the bytes the caches held at the end (cacheStorageBytes).
import * as tf from '@tensorflow/tfjs-core';
import type { CacheMode } from '../../lib/costs/cache-modes';
import type { CacheQuant } from '../../lib/costs/kv-cache';
import type { GPT } from '../../lib/model/gpt';
import { cacheStorageBytes } from '../../lib/attention/types';
import { startQuantizedDecode } from '../../lib/generate/cache-quant';

export function decodeInPieces(model: GPT, mode: CacheMode, ids: number[][], prompt: number, quant?: CacheQuant): { logits: tf.Tensor3D; bytes: number } {
  let state = quant ? startQuantizedDecode(model, ids.length, mode, quant) : model.startDecode(ids.length, mode);
  const pieces: tf.Tensor3D[] = [];
  for (const [from, to] of [[0, prompt], ...ids[0].slice(prompt).map((_, i) => [prompt + i, prompt + i + 1])]) {
    const x = tf.tensor2d(ids.map((r) => r.slice(from, to)), undefined, 'int32'); // (B, to − from)
    const r = model.decode(x, state);
    x.dispose();
    state = r.state;
    pieces.push(r.logits);
  }
  const bytes = state.caches.reduce((a, c) => a + cacheStorageBytes(c), 0);
  model.endDecode(state);
  const logits = tf.concat(pieces, 1) as tf.Tensor3D;
  tf.dispose(pieces);
  return { logits, bytes };
}
