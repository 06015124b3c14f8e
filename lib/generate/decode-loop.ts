// Greedy decoding that keeps the next token on the device. A step that reads its logits back before the next can
// start leaves the GPU idle while the host waits for the read and then encodes the next step, and leaves the host
// idle while the GPU runs: the step costs host + GPU + a round trip. With the argmax on the device, step k + 1
// takes step k's token as a tensor, so the host can encode it while the GPU still runs step k; what a step costs
// is then the larger of the two. This is also how PyTorch eager's greedy loop runs (CUDA launches are
// asynchronous, `argmax` and `cat` stay on the GPU, nothing syncs until the end), so a timing that compares the
// two must run ours this way too.
// Shape legend: B sequences, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import type { DecodeState, GPT } from '../model/gpt';
import { argmax } from './sampling';

/**
 * When a timed decode loop waits for the device. 'step': every step reads its logits back and the next token is
 * chosen on the host and uploaded (a host sampler's loop; a step's time is its latency). 'end': greedy on the
 * device, nothing read until the end of a chunk of steps (PyTorch eager's loop; a step's time is throughput).
 */
export type DecodeSync = 'step' | 'end';
export const DECODE_SYNCS: readonly DecodeSync[] = ['step', 'end'];
/** Steps per timed chunk under sync 'end': each chunk ends with one read of its last token. */
export const DECODE_SYNC_CHUNK = 10;

/** The greedy next token of each sequence from the last position's logits (B, t, V), as (B, 1) int32, on the device. */
export function greedyNext(logits: tf.Tensor3D): tf.Tensor2D {
  const [B, t, V] = logits.shape;
  return tf.tidy(() => {
    const last = t === 1 ? logits : tf.slice(logits, [0, t - 1, 0], [B, 1, V]); // (B, 1, V)
    return tf.reshape(tf.argMax(tf.reshape(last, [B, V]), 1), [B, 1]) as tf.Tensor2D; // (B, V) -> (B,) -> (B, 1) int32
  });
}

/** One greedy step on the device: the state moves on, `token` (B, 1) is kept, the returned token is the next. */
export function greedyStep(model: GPT, token: tf.Tensor2D, state: DecodeState): { next: tf.Tensor2D; state: DecodeState } {
  const r = model.decode(token, state);
  const next = greedyNext(r.logits);
  r.logits.dispose();
  return { next, state: r.state };
}

/** One step of a host sampler's loop: the logits come back, the greedy token is chosen on the host and uploaded. */
async function hostGreedyStep(model: GPT, token: tf.Tensor2D, state: DecodeState): Promise<{ next: tf.Tensor2D; state: DecodeState }> {
  const r = model.decode(token, state);
  const [B, , V] = r.logits.shape;
  const rows = (await r.logits.data()) as Float32Array; // (B, 1, V): the step is done once they are on the host
  r.logits.dispose();
  const ids = Array.from({ length: B }, (_, b) => [argmax(rows.subarray(b * V, (b + 1) * V))]);
  return { next: tf.tensor2d(ids, [B, 1], 'int32'), state: r.state };
}

export interface TimedDecode {
  /** The last step's token (B, 1): the caller owns it. */
  token: tf.Tensor2D;
  /** Milliseconds per step: one entry per step ('step'), or per chunk of steps, its time over its steps ('end'). */
  msPerStep: number[];
}

/**
 * `steps` greedy steps from `token` (kept: the caller still owns it), timed as `sync` says. `at.state` is moved on
 * after every step, so a caller that ends it in a `finally` ends the newest state even when a step throws. Under
 * 'end' the steps go in chunks of DECODE_SYNC_CHUNK (the last may be shorter), each timed from its first step's
 * encoding to the read of its last token; only that one token per chunk comes back. On a synchronous backend (the
 * CPU) both measure the same work.
 */
export async function timedDecodeSteps(model: GPT, token: tf.Tensor2D, at: { state: DecodeState }, steps: number, sync: DecodeSync): Promise<TimedDecode> {
  if (!DECODE_SYNCS.includes(sync)) throw new RangeError(`decode sync '${sync}' must be one of ${DECODE_SYNCS.join(', ')}`);
  const ms: number[] = [];
  let cur = token;
  try {
    for (let done = 0; done < steps; ) {
      const n = sync === 'step' ? 1 : Math.min(DECODE_SYNC_CHUNK, steps - done);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const r = sync === 'step' ? await hostGreedyStep(model, cur, at.state) : greedyStep(model, cur, at.state);
        at.state = r.state;
        if (cur !== token) cur.dispose();
        cur = r.next;
      }
      if (sync === 'end') await cur.data(); // B int32s: every step of the chunk has finished on the device
      ms.push((performance.now() - t0) / n);
      done += n;
    }
  } catch (err) {
    if (cur !== token) cur.dispose();
    throw err;
  }
  return { token: cur === token ? tf.clone(token) : cur, msPerStep: ms };
}
