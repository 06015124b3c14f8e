// Initial weights as the original: every weight matrix and embedding 0.01·N(0, 1), every bias 0, LayerNorm
// gains 1. Each tensor draws from its own seed (the run seed mixed with a hash of its name), so a tensor's
// values do not depend on which other tensors exist.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { parameterShapes } from '../costs/params';
import type { Params } from './types';

/** FNV-1a of a string mixed with a seed: a stable 31-bit per-tensor seed. */
export function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 0x7fffffff;
}

export type InitRule = 'normal' | 'zeros' | 'ones';

/** How the original initialises a tensor, from its name. */
export function initRule(name: string): InitRule {
  if (/(^|\.)(ln\d|q_norm|kv_norm)\.weight$/.test(name)) return 'ones';
  if (/bias$/.test(name) || /\.b_(in|out)$/.test(name)) return 'zeros';
  return 'normal';
}

export function initParams(c: ModelConfig, seed: number): Params {
  const params: Params = {};
  for (const [name, shape] of Object.entries(parameterShapes(c))) {
    const rule = initRule(name);
    const value = tf.tidy(() =>
      rule === 'ones' ? tf.ones(shape) : rule === 'zeros' ? tf.zeros(shape) : tf.randomNormal(shape, 0, 0.01, 'float32', tensorSeed(seed, name)),
    );
    // Unnamed: tfjs variable names are global, and two models (or a model and its resumed copy) coexist.
    params[name] = tf.variable(value, true);
    value.dispose();
  }
  return params;
}

/** Wraps existing tensors (e.g. from a checkpoint) as variables with the checkpoint's names. */
export function paramsFromTensors(c: ModelConfig, tensors: Record<string, tf.Tensor>): Params {
  const params: Params = {};
  for (const name of Object.keys(parameterShapes(c))) params[name] = tf.variable(tensors[name], true);
  return params;
}
