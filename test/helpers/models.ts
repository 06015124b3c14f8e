// Test models: the original's 0.01·N(0,1) init makes every logit nearly equal, which would let a broken cache
// pass a tolerance check. Tests use weights large enough that attention patterns are sharp.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
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
