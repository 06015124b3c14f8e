// The contract between models and everything that uses them without knowing what is inside: the trainer,
// evaluation, checkpoints, benchmarks. Nothing here mentions attention.
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';

/** Named trainable weights. Names are the checkpoint's tensor names (see README, "Checkpoint format"). */
export type Params = Record<string, tf.Variable>;

export interface ForwardOptions {
  /** Dropout is applied only when true. */
  training?: boolean;
  /** Seed of this forward pass's dropout masks; the trainer derives it from its own RNG so resume is exact. */
  dropoutSeed?: number;
}

export interface LanguageModel {
  readonly config: ModelConfig;
  readonly params: Params;
  /** ids: (B, T) int32 → logits (B, T, V). */
  logits(ids: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor3D;
  /** Mean next-token cross-entropy (natural log) of targets (B, T) int32 given ids (B, T). */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts?: ForwardOptions): tf.Scalar;
  dispose(): void;
}
