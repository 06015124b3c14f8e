// The inputs of the attention core (core.ts) and of its fused path (flash.ts), in a file of their own so that
// neither imports the other for them. Shape legend: B batch, Hk key/value heads, G query heads per KV head,
// Tq new queries, Tk keys, d dims.
import type * as tf from '@tensorflow/tfjs-core';

export interface ScoreTerm {
  /** (B, Hk, G·Tq, d): queries, grouped so that row g·Tq + i is query i of the g-th head sharing a KV head. */
  q: tf.Tensor4D;
  /** (B, Hk, Tk, d) or (B, 1, Tk, d) when one key is shared by all heads (broadcast, never copied). */
  k: tf.Tensor4D;
}

export interface CoreOptions {
  /** Absolute position of the first query: query i may see keys 0 .. qStart + i. */
  qStart: number;
  /** Multiplier of the scores: 1/sqrt(head dim). */
  scale: number;
  /** Query heads per KV head folded into the query axis (1 unless GQA/MQA). */
  groups?: number;
}
