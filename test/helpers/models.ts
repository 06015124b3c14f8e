// Test models: the original's 0.01·N(0,1) init makes every logit nearly equal, which would let a broken cache
// pass a tolerance check. Tests use weights large enough that attention patterns are sharp.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { ModelConfig } from '../../lib/config/model-config';
import { resolveConfig } from '../../lib/config/presets';
import { parameterShapes } from '../../lib/costs/params';
import { GPT } from '../../lib/model/gpt';
import { initRule, tensorSeed } from '../../lib/model/init';
import type { Params } from '../../lib/model/types';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
}

export function sharpParams(c: ModelConfig, seed: number, std = 0.2): Params {
  const params: Params = {};
  for (const [name, shape] of Object.entries(parameterShapes(c))) {
    const rule = initRule(name);
    const t = tf.tidy(() => {
      const n = tf.randomNormal(shape, 0, rule === 'normal' ? std : 0.1, 'float32', tensorSeed(seed, name));
      return rule === 'ones' ? tf.add(n, 1) : n;
    });
    params[name] = tf.variable(t, true);
    t.dispose();
  }
  return params;
}

export function sharpModel(preset: string, overrides: Partial<ModelConfig> = {}, seed = 1): GPT {
  const c = resolveConfig(preset, { dropout: 0, ...overrides });
  return new GPT(c, sharpParams(c, seed));
}

/** Deterministic token ids (B, T) in [0, vocab). */
export function tokenIds(batch: number, len: number, vocab: number, seed = 7): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  };
  return Array.from({ length: batch }, () => Array.from({ length: len }, next));
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The loss and every parameter's gradient of `model` on deterministic next-token batches (B, T), as a function. */
export function lossAndGradsOf(model: GPT, B: number, T: number): () => { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const ids = tf.tensor2d(tokenIds(B, T + 1, model.config.vocabSize), [B, T + 1], 'int32');
  const x = tf.slice(ids, [0, 0], [B, T]) as tf.Tensor2D;
  const y = tf.slice(ids, [0, 1], [B, T]) as tf.Tensor2D;
  const vars = Object.values(model.params) as tf.Variable[];
  return () => tf.variableGrads(() => model.loss(x, y), vars);
}

/** Asserts two lossAndGradsOf results agree: loss within 1e-5, each gradient within relTol of the reference's largest magnitude. */
export function assertSameLossAndGrads(got: { value: tf.Scalar; grads: tf.NamedTensorMap }, want: { value: tf.Scalar; grads: tf.NamedTensorMap }, relTol = 1e-4): void {
  const lossDiff = Math.abs(got.value.dataSync()[0] - want.value.dataSync()[0]);
  assert.ok(lossDiff < 1e-5, `loss differs by ${lossDiff}`);
  for (const name of Object.keys(want.grads)) {
    const scale = Math.max(tf.max(tf.abs(want.grads[name])).dataSync()[0], 1e-12);
    const rel = maxAbsDiff(got.grads[name], want.grads[name]) / scale;
    assert.ok(rel < relTol, `${name}: max relative difference ${rel}`);
  }
}
