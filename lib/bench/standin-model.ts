// A small pre-LayerNorm transformer written with plain tfjs ops, used only to profile a training step
// (which kernels dominate, and what the native kernels gain). It is not the project's model; it exercises
// the same kinds of kernels: gather, matmuls, reshape/transpose into heads, causal softmax, layer norm,
// ReLU MLP, residual adds and a softmax cross-entropy over a large vocabulary.
//
// Shapes: B batch, T time, C model dim, H heads, D = C/H head dim, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build registers no gradients; the union package's Node build registers them all
// against this same tfjs-core (as lib/model does).
import '@tensorflow/tfjs';

export interface StandinConfig {
  batch: number;
  seqLen: number;
  dModel: number;
  heads: number;
  layers: number;
  vocab: number;
  seed: number;
}

export const STANDIN_DEFAULT: StandinConfig = { batch: 8, seqLen: 256, dModel: 256, heads: 8, layers: 2, vocab: 10000, seed: 1 };

export interface StandinModel {
  config: StandinConfig;
  params: Record<string, tf.Variable>;
  /** ids, targets: (B, T) int32 → mean cross-entropy. */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar;
  dispose(): void;
}

export function createStandin(config: StandinConfig): StandinModel {
  const { dModel: C, heads: H, layers: L, vocab: V, seed } = config;
  if (C % H !== 0) throw new Error(`standin: dModel ${C} is not a multiple of heads ${H}; pick heads that divide it`);
  let s = seed;
  const normal = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', s++));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const params: Record<string, tf.Variable> = { wte: normal([V, C]), head_w: normal([C, V]), head_b: zeros(V) };
  for (let l = 0; l < L; l++) {
    Object.assign(params, {
      [`h${l}.ln1_g`]: ones(C), [`h${l}.ln1_b`]: zeros(C),
      [`h${l}.w_qkv`]: normal([C, 3 * C]), [`h${l}.w_o`]: normal([C, C]),
      [`h${l}.ln2_g`]: ones(C), [`h${l}.ln2_b`]: zeros(C),
      [`h${l}.w_1`]: normal([C, 4 * C]), [`h${l}.b_1`]: zeros(4 * C),
      [`h${l}.w_2`]: normal([4 * C, C]), [`h${l}.b_2`]: zeros(C),
    });
  }

  const layerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
  };

  const loss = (ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const [B, T] = ids.shape;
      const D = C / H;
      // Additive causal mask (T, T): 0 where a position may attend, -1e9 above the diagonal.
      const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
      let x: tf.Tensor = tf.reshape(tf.gather(params.wte, tf.reshape(ids, [-1])), [B, T, C]); // (B, T, C)
      for (let l = 0; l < L; l++) {
        const p = (n: string) => params[`h${l}.${n}`];
        const h = tf.reshape(layerNorm(x, p('ln1_g'), p('ln1_b')), [B * T, C]);
        const qkv = tf.reshape(tf.matMul(h, p('w_qkv')), [B, T, 3, H, D]);
        const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])); // each (B, H, T, D)
        const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), mask)); // (B, H, T, T)
        const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, C]); // (B·T, C)
        x = tf.add(x, tf.reshape(tf.matMul(y, p('w_o')), [B, T, C]));
        const h2 = tf.reshape(layerNorm(x, p('ln2_g'), p('ln2_b')), [B * T, C]);
        const m = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(h2, p('w_1')), p('b_1'))), p('w_2')), p('b_2'));
        x = tf.add(x, tf.reshape(m, [B, T, C]));
      }
      const logits = tf.add(tf.matMul(tf.reshape(x, [B * T, C]), params.head_w), params.head_b); // (B·T, V)
      const logp = tf.logSoftmax(logits); // (B·T, V)
      // Each row's target log-probability through one flat gather at row·V + target (no one-hot of B·T·V).
      const flat = tf.add(tf.mul(tf.range(0, B * T, 1, 'int32'), tf.scalar(V, 'int32')), tf.reshape(targets, [-1]));
      const picked = tf.gather(tf.reshape(logp, [-1]), flat); // (B·T,)
      return tf.neg(tf.mean(picked)) as tf.Scalar;
    });

  return {
    config,
    params,
    loss,
    dispose: () => Object.values(params).forEach((v) => v.dispose()),
  };
}

/** Random token ids and targets (B, T) int32 from a seed. */
export function standinBatch(config: StandinConfig, seed: number): { ids: tf.Tensor2D; targets: tf.Tensor2D } {
  const shape: [number, number] = [config.batch, config.seqLen];
  return {
    ids: tf.randomUniform(shape, 0, config.vocab, 'int32', seed) as tf.Tensor2D,
    targets: tf.randomUniform(shape, 0, config.vocab, 'int32', seed + 1) as tf.Tensor2D,
  };
}

/** One forward + backward pass (gradients of every parameter), disposed afterwards. */
export function standinStep(model: StandinModel, ids: tf.Tensor2D, targets: tf.Tensor2D): number {
  const { value, grads } = tf.variableGrads(() => model.loss(ids, targets));
  const loss = value.dataSync()[0];
  // Reading every gradient forces all of the backward pass to have run (it has, on the CPU backend,
  // but this keeps the step honest on asynchronous backends too).
  for (const g of Object.values(grads)) g.dataSync();
  value.dispose();
  tf.dispose(grads);
  return loss;
}
