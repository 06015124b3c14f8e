// A toy language model and data source for trainer tests: an embedding, dropout and a linear head (a bigram
// model), over a token stream from a seeded Markov chain so there is something to learn. The trainer only sees
// the LanguageModel contract, so what it does here it does for the GPT.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolveConfig } from '../../lib/config/presets';
import type { ModelConfig } from '../../lib/config/model-config';
import { Rng } from '../../lib/data/prng';
import type { ForwardOptions, LanguageModel, Params } from '../../lib/model/types';
import type { BatchSource, TrainData } from '../../lib/train/types';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
}

export function toyConfig(vocab = 16, dropout = 0.1): ModelConfig {
  // A valid ModelConfig so checkpoints can carry it; the toy only uses vocabSize, maxSeqLen and dropout.
  return resolveConfig('tiny-mha-norope', { vocabSize: vocab, maxSeqLen: 32, dropout });
}

export class ToyBigram implements LanguageModel {
  readonly params: Params;
  /** Calls of loss() so far (for tests that poison a given call). */
  calls = 0;

  constructor(
    readonly config: ModelConfig,
    seed: number,
    hidden = 8,
  ) {
    const V = config.vocabSize;
    const init = (shape: number[], s: number) => tf.tidy(() => tf.randomNormal(shape, 0, 0.3, 'float32', s));
    const tensors = { tok_emb: init([V, hidden], seed), 'head.weight': init([hidden, V], seed + 1), 'head.bias': tf.zeros([V]) };
    this.params = {};
    for (const [n, t] of Object.entries(tensors)) {
      this.params[n] = tf.variable(t, true);
      t.dispose();
    }
  }

  logits(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = ids.shape;
      let h = tf.gather(this.params.tok_emb, ids) as tf.Tensor3D; // (B, T, H)
      if (opts.training && this.config.dropout > 0) h = tf.dropout(h, this.config.dropout, undefined, opts.dropoutSeed ?? 0) as tf.Tensor3D;
      const H = h.shape[2];
      const y = tf.add(tf.matMul(tf.reshape(h, [B * T, H]), this.params['head.weight']), this.params['head.bias']); // (B·T, V)
      return tf.reshape(y, [B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    this.calls++;
    return tf.tidy(() => {
      const [B, T] = ids.shape;
      const V = this.config.vocabSize;
      const logp = tf.logSoftmax(tf.reshape(this.logits(ids, opts), [B * T, V])); // (B·T, V)
      const onehot = tf.oneHot(tf.reshape(targets, [B * T]), V); // (B·T, V)
      return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
    });
  }

  dispose(): void {
    for (const p of Object.values(this.params)) p.dispose();
  }
}

/** A token stream with structure: each token is 3·previous + {0, 1, 2} (mod vocab). */
export function toyCorpus(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = (3 * out[i - 1] + rng.int(3)) % vocab;
  return out;
}

/** Random windows of the corpus; the position is the RNG's state. */
export class ToySampler implements BatchSource {
  private rng: Rng;

  constructor(
    private readonly tokens: Int32Array,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  next(batch: number, seqLen: number): { ids: Int32Array; targets: Int32Array } {
    const ids = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let r = 0; r < batch; r++) {
      const start = this.rng.int(this.tokens.length - seqLen);
      for (let t = 0; t < seqLen; t++) {
        ids[r * seqLen + t] = this.tokens[start + t];
        targets[r * seqLen + t] = this.tokens[start + t + 1];
      }
    }
    return { ids, targets };
  }

  getState(): unknown {
    return { rng: this.rng.state };
  }

  setState(state: unknown): void {
    this.rng = new Rng((state as { rng: number }).rng);
  }
}

export function toyData(vocab = 16, seed = 3): TrainData {
  return {
    train: new ToySampler(toyCorpus(4000, vocab, seed), seed + 100),
    val: toyCorpus(300, vocab, seed + 1),
    describe: { kind: 'toy', vocab, seed },
  };
}
