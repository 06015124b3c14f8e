// The GPT trunk of the study: token embedding (+ learned positions), L pre-LayerNorm blocks
// x + attn(LN1(x)), x + dropout(MLP(LN2(x))) with MLP = C → 4C → ReLU → C, no final LayerNorm, and an untied
// output head with a bias. Attention comes from the factory; this file never looks inside it.
// Shape legend: B batch, T time, C model dim, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
// Training differentiates the model. tfjs-core's CommonJS build registers no gradients; the union package's
// Node build registers all of them against this same tfjs-core (its ESM-only register_all_gradients cannot be
// required).
import '@tensorflow/tfjs';
import { ModelConfig, deriveSizes } from '../config/model-config';
import { validateConfig } from '../config/validate';
import { CacheMode, checkCacheMode } from '../costs/cache-modes';
import { parameterShapes } from '../costs/params';
import { createAttention } from '../attention/factory';
import { RopeTables, ropeTables } from '../attention/rope';
import type { AttentionLayer, LayerCache, LayerNormWeights } from '../attention/types';
import { decodeLinear, hasDecodeLinearKernel } from '../ops/decode-linear';
import { addPositions } from '../ops/add-positions';
import { replacedTensors } from '../attention/cache-utils';
import { DecodeGraphs, decodeGraphsFor } from './decode-graph';
import { dropout } from '../ops/dropout';
import { embeddingLookup, crossEntropyRows } from './fast-grads';
import { initParams } from './init';
import { layerNorm, linear, tidyKeep } from './layers';
import type { ForwardOptions, LanguageModel, Params } from './types';

/** Everything a decode carries between steps: one cache per layer, or the tokens so far when uncached. */
export interface DecodeState {
  readonly mode: CacheMode;
  readonly batch: number;
  /** Tokens already consumed per sequence. */
  readonly length: number;
  readonly caches: readonly LayerCache[];
  /** Only for mode 'none': every token so far (B, length). */
  readonly ids?: tf.Tensor2D;
  /**
   * The decode's step graphs, shared by all its states, where the backend records and replays steps (WebGPU with
   * MLA_DECODE_GRAPH on): single-token steps then replay instead of running through tfjs (./decode-graph.ts).
   */
  readonly graphs?: DecodeGraphs;
}

export class GPT implements LanguageModel {
  private readonly attention: AttentionLayer[];
  private readonly rope?: RopeTables;

  constructor(
    readonly config: ModelConfig,
    readonly params: Params,
  ) {
    validateConfig(config);
    const shapes = parameterShapes(config);
    for (const [name, shape] of Object.entries(shapes)) {
      const p = params[name];
      if (!p) throw new Error(`model parameters lack '${name}'`);
      if (p.shape.join(',') !== shape.join(',')) {
        throw new Error(`parameter '${name}' has shape [${p.shape}], expected [${shape}]`);
      }
    }
    const s = deriveSizes(config);
    if (s.rotaryDim > 0) this.rope = ropeTables(s.rotaryDim, s.headDim, config.ropeTheta, config.maxSeqLen);
    this.attention = Array.from({ length: config.nLayers }, (_, i) =>
      createAttention(config, (n) => this.weight(`blocks.${i}.attn.${n}`), this.rope),
    );
  }

  private weight(name: string): tf.Tensor {
    const p = this.params[name];
    if (!p) throw new Error(`no parameter '${name}'`);
    return p;
  }

  /** Token (and learned position) embeddings of ids at positions start ..; `decoding`: through the decode step's op. */
  private embed(ids: tf.Tensor2D, start: number, decoding = false): tf.Tensor3D {
    const [, T] = ids.shape;
    if (start + T > this.config.maxSeqLen) {
      throw new RangeError(`sequence reaches position ${start + T - 1}, beyond maxSeqLen ${this.config.maxSeqLen}`);
    }
    const [B] = ids.shape;
    const flat = embeddingLookup(this.weight('tok_emb') as tf.Tensor2D, tf.reshape(ids, [B * T]) as tf.Tensor1D); // (B·T, C)
    const x = tf.reshape(flat, [B, T, this.config.dModel]) as tf.Tensor3D; // (B, T, C)
    if (!deriveSizes(this.config).learnedPositions) return x;
    // A decode step adds its rows through one op whose start a step graph can replay (lib/ops/add-positions.ts).
    if (decoding) return addPositions(x, this.weight('pos_emb') as tf.Tensor2D, start);
    const pos = tf.slice(this.weight('pos_emb'), [start, 0], [T, this.config.dModel]); // (T, C)
    return tf.add(x, pos);
  }

  private mlp(i: number, x: tf.Tensor3D, opts: ForwardOptions): tf.Tensor3D {
    const p = `blocks.${i}.`;
    const h = linear(x, this.weight(`${p}mlp.w_in`) as tf.Tensor2D, this.weight(`${p}mlp.b_in`) as tf.Tensor1D, 'relu');
    const y = linear(h, this.weight(`${p}mlp.w_out`) as tf.Tensor2D, this.weight(`${p}mlp.b_out`) as tf.Tensor1D);
    if (!opts.training || this.config.dropout === 0) return y;
    // The original's only dropout: after the MLP. Each layer gets its own mask seed.
    return dropout(y, this.config.dropout, opts.dropoutSeed ?? 0, i);
  }

  /**
   * x + MLP(LN2(x)) in a decode step: on a backend with the decode linear's kernel two dispatches (LN2, W_in, bias and
   * relu; W_out, bias and the residual), else the ops of logits().
   */
  private decodeMlp(i: number, x: tf.Tensor3D): tf.Tensor3D {
    const [B, t] = x.shape;
    if (!hasDecodeLinearKernel(B * t)) return tf.add(x, this.mlp(i, this.ln(i, 'ln2', x), {}));
    const p = `blocks.${i}.mlp.`;
    const h = decodeLinear(x, [this.weight(`${p}w_in`) as tf.Tensor2D], { norm: this.lnWeights(i, 'ln2'), bias: this.weight(`${p}b_in`) as tf.Tensor1D, relu: true }); // (B, t, 4C)
    return decodeLinear(h, [this.weight(`${p}w_out`) as tf.Tensor2D], { bias: this.weight(`${p}b_out`) as tf.Tensor1D, residual: x }) as tf.Tensor3D; // (B, t, C)
  }

  private lnWeights(i: number, which: 'ln1' | 'ln2'): LayerNormWeights {
    const p = `blocks.${i}.${which}.`;
    return { gamma: this.weight(`${p}weight`) as tf.Tensor1D, beta: this.weight(`${p}bias`) as tf.Tensor1D };
  }

  private ln(i: number, which: 'ln1' | 'ln2', x: tf.Tensor3D): tf.Tensor3D {
    const p = `blocks.${i}.${which}.`;
    return layerNorm(x, this.weight(`${p}weight`) as tf.Tensor1D, this.weight(`${p}bias`) as tf.Tensor1D) as tf.Tensor3D;
  }

  private head(x: tf.Tensor3D): tf.Tensor3D {
    return linear(x, this.weight('head.weight') as tf.Tensor2D, this.weight('head.bias') as tf.Tensor1D); // (B, T, V)
  }

  logits(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.embed(ids, 0);
      for (let i = 0; i < this.config.nLayers; i++) {
        x = tf.add(x, this.attention[i].forward(this.ln(i, 'ln1', x)));
        x = tf.add(x, this.mlp(i, this.ln(i, 'ln2', x), opts));
      }
      return this.head(x);
    });
  }

  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    return tf.tidy(() => tf.mean(tokenCrossEntropy(this.logits(ids, opts), targets)) as tf.Scalar);
  }

  /**
   * A decode's starting state for `batch` sequences in the given cache mode. `reserve`: the tokens the decode will
   * hold at most, where known (a benchmark's context + steps): buffers written in place are allocated for all of
   * them at the first write and never grow (LayerCache.reserve); a decode may still go past it (then they grow).
   * Where the fused decode attention runs, MLA's latent mode re-expands the whole buffer, its spare rows too, so a
   * reserve far past the prompt costs a latent-mode prefill that much more work (the bench reserves steps, not more).
   */
  startDecode(batch: number, mode: CacheMode, opts: { reserve?: number } = {}): DecodeState {
    checkCacheMode(this.config, mode);
    const { reserve } = opts;
    if (reserve !== undefined && (!Number.isInteger(reserve) || reserve < 0)) throw new RangeError(`startDecode: reserve must be a whole number of tokens ≥ 0, got ${reserve}`);
    const caches = mode === 'none' ? [] : this.attention.map((a) => (reserve ? { ...a.emptyCache(batch, mode), reserve } : a.emptyCache(batch, mode)));
    const graphs = decodeGraphsFor(mode);
    return { mode, batch, length: 0, caches, ...(graphs ? { graphs } : {}) };
  }

  /**
   * Feeds t new tokens ids (B, t) — a whole prompt (prefill) or one token per sequence — and returns their
   * logits (B, t, V) and the next state. The old state's tensors are disposed.
   */
  decode(ids: tf.Tensor2D, state: DecodeState): { logits: tf.Tensor3D; state: DecodeState } {
    const [B, t] = ids.shape;
    if (B !== state.batch) throw new RangeError(`decode got batch ${B}, state was started for ${state.batch}`);
    if (state.mode === 'none') return this.decodeUncached(ids, state);
    if (state.graphs && t === 1) return state.graphs.step(ids, state, (x, s) => this.decodeCached(x, s));
    return this.decodeCached(ids, state);
  }

  /** decode through the layers: what a step graph records. */
  private decodeCached(ids: tf.Tensor2D, state: DecodeState): { logits: tf.Tensor3D; state: DecodeState } {
    const t = ids.shape[1];
    const start = state.length;
    const result = tidyKeep(() => {
      let x = this.embed(ids, start, true);
      const caches: LayerCache[] = [];
      for (let i = 0; i < this.config.nLayers; i++) {
        // On a backend with the decode step kernels each residual branch is a few fused dispatches, LayerNorm and
        // the residual add inside them (lib/ops/decode-linear.ts); elsewhere the same math by ops.
        const fused = this.attention[i].residualStep?.(x, this.lnWeights(i, 'ln1'), state.caches[i], start);
        if (fused) {
          x = fused.y;
          caches.push(fused.cache);
        } else {
          const { y, cache } = this.attention[i].step(this.ln(i, 'ln1', x), state.caches[i], start);
          caches.push(cache);
          x = tf.add(x, y);
        }
        x = this.decodeMlp(i, x);
      }
      return { logits: this.head(x), caches };
    });
    // Buffers written in place carry over into the new caches; only what they replaced is freed.
    state.caches.forEach((c, i) => tf.dispose(replacedTensors(c, result.caches[i])));
    return { logits: result.logits, state: { ...state, length: start + t, caches: result.caches } };
  }

  private decodeUncached(ids: tf.Tensor2D, state: DecodeState) {
    const t = ids.shape[1];
    const all = state.ids ? (tf.concat([state.ids, ids], 1) as tf.Tensor2D) : ids.clone(); // (B, length + t)
    const logits = tf.tidy(() => {
      const full = this.logits(all); // (B, length + t, V)
      return tf.slice(full, [0, state.length, 0], [-1, t, -1]) as tf.Tensor3D;
    });
    state.ids?.dispose();
    return { logits, state: { ...state, length: state.length + t, ids: all } };
  }

  /** Releases a decode state's tensors: its caches and what each layer derived from its weights for it. */
  endDecode(state: DecodeState): void {
    state.graphs?.dispose();
    disposeCaches(state.caches);
    state.ids?.dispose();
  }

  dispose(): void {
    for (const p of Object.values(this.params)) p.dispose();
    this.rope?.cos.dispose();
    this.rope?.sin.dispose();
  }
}

function disposeCaches(caches: readonly LayerCache[]): void {
  for (const c of caches) {
    for (const t of Object.values(c.tensors)) t.dispose();
    c.memo?.dispose();
  }
}

/** Per-token cross-entropy (B·T,) of logits (B, T, V) against int32 targets (B, T). */
export function tokenCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const rows = tf.reshape(logits, [B * T, V]) as tf.Tensor2D; // (B·T, V)
    return crossEntropyRows(rows, tf.cast(tf.reshape(targets, [B * T]), 'int32') as tf.Tensor1D);
  });
}

/** A fresh model with the original's initialisation. */
export function createModel(config: ModelConfig, seed = 0): GPT {
  return new GPT(validateConfig(config), initParams(config, seed));
}
