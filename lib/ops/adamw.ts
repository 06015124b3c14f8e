// One AdamW update of a list of parameters (the formulas are lib/train/adamw.ts's, which says where they come
// from): the op's kernel names and attributes, its reference composition with tfjs ops, the path through a
// backend's two elementwise kernels, and the registry of in-place updates a backend may provide.
//   kernels  m′, v′ (one kernel, specialised for g and g²), then p′ from p, m′, v′: three dispatches per
//            parameter instead of ~12 ops, for backends whose per-kernel cost dominates (WebGPU: ~0.1–0.2 ms of
//            host time per dispatch; 1,700 ops for the 35M model were 0.23 s of a 0.6 s step on the H100).
//            lib/backend/webgpu/kernels/adamw.ts registers them.
//   in place one dispatch per parameter rewriting p, m and v in their buffers
//            (lib/backend/webgpu/kernels/adamw-inplace.ts registers it under the backend's name).
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

export const ADAMW_MOMENT_KERNEL = 'MlaAdamWMoment';
export const ADAMW_PARAM_KERNEL = 'MlaAdamWParam';

/** m′ = keep·m + mix·(g·gradScale), or with (g·gradScale)² when `square` (the second moment). Inputs x (m), g. */
export interface AdamWMomentAttrs {
  keep: number;
  mix: number;
  gradScale: number;
  square: boolean;
}

/** p′ = p·decay − stepSize · m′ / (√v′ · invSqrtBc2 + eps). Inputs p, m (m′), v (v′). */
export interface AdamWParamAttrs {
  decay: number;
  stepSize: number;
  invSqrtBc2: number;
  eps: number;
}

/** The per-step constants of the update (float64 here, rounded once to float32 where a kernel takes them). */
export interface AdamWStepConstants {
  gradScale: number;
  /**
   * Clipping on the device (0: none): the gradient is also scaled by min(1, maxNorm / (norm + 1e-6)), norm
   * read from the step's statistics tensor, so the host need not read the norm before recording the update.
   */
  maxNorm?: number;
  beta1: number;
  beta2: number;
  eps: number;
  decay: number;
  invSqrtBc2: number;
  stepSize: number;
}

/** One parameter's update: p, m, v are rewritten; g is read. */
export interface InPlaceItem {
  p: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  g: tf.Tensor;
}

/** One parameter of the kernels and reference paths: p, m, v are assigned their new values. */
export interface AdamWItem {
  p: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
  g: tf.Tensor;
}

export interface InPlaceAdamW {
  /**
   * `stats` = [loss, gradient norm] of the step, (2,), on the device: when either is not finite every
   * dispatch leaves its parameter as it was; with k.maxNorm > 0 the norm also sets the clip factor.
   */
  update(items: InPlaceItem[], k: AdamWStepConstants, stats: tf.Tensor): void;
}

/** Whether the active backend has the two elementwise AdamW kernels. */
export function hasAdamWKernels(): boolean {
  return hasKernel(ADAMW_PARAM_KERNEL);
}

/** The update through the backend's kernels: three per parameter. */
export function adamwStepKernels(items: AdamWItem[], k: AdamWStepConstants): void {
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
  const param: AdamWParamAttrs = { decay: k.decay, stepSize: k.stepSize, invSqrtBc2: k.invSqrtBc2, eps: k.eps };
  const first: AdamWMomentAttrs = { keep: k.beta1, mix: 1 - k.beta1, gradScale: k.gradScale, square: false };
  const second: AdamWMomentAttrs = { keep: k.beta2, mix: 1 - k.beta2, gradScale: k.gradScale, square: true };
  for (const it of items) {
    const m = run(ADAMW_MOMENT_KERNEL, { x: it.m, g: it.g }, first);
    const v = run(ADAMW_MOMENT_KERNEL, { x: it.v, g: it.g }, second);
    const next = run(ADAMW_PARAM_KERNEL, { p: it.p, m, v }, param);
    it.m.assign(m);
    it.v.assign(v);
    it.p.assign(next);
    tf.dispose([m, v, next]);
  }
}

/** The update with tfjs ops, any backend: ~12 ops per parameter. */
export function adamwStepReference(items: AdamWItem[], k: AdamWStepConstants): void {
  tf.tidy(() => {
    const s = tf.scalar(k.gradScale);
    const b1 = tf.scalar(k.beta1);
    const b1c = tf.scalar(1 - k.beta1);
    const b2 = tf.scalar(k.beta2);
    const b2c = tf.scalar(1 - k.beta2);
    const decay = tf.scalar(k.decay);
    const invSqrtBc2 = tf.scalar(k.invSqrtBc2);
    const epsT = tf.scalar(k.eps);
    const stepSize = tf.scalar(k.stepSize);
    for (const it of items) {
      const g = tf.mul(it.g, s);
      const m = tf.add(tf.mul(it.m, b1), tf.mul(g, b1c));
      const v = tf.add(tf.mul(it.v, b2), tf.mul(tf.square(g), b2c));
      const denom = tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), epsT);
      const next = tf.sub(tf.mul(it.p, decay), tf.mul(tf.div(m, denom), stepSize));
      it.m.assign(m);
      it.v.assign(v);
      it.p.assign(next);
    }
  });
}

const made = new Map<string, InPlaceAdamW | null>();
const registered = new Map<string, () => InPlaceAdamW>();

/** Lets a backend (or a test) provide the in-place update; null takes it away. */
export function registerInPlaceAdamW(backendName: string, factory: (() => InPlaceAdamW) | null): void {
  made.delete(backendName);
  if (factory) registered.set(backendName, factory);
  else registered.delete(backendName);
}

/** The in-place update of the current backend, or null (then AdamW uses per-parameter kernels or ops). */
export function inPlaceAdamW(): InPlaceAdamW | null {
  const name = tf.getBackend();
  if (!made.has(name)) {
    const factory = registered.get(name);
    made.set(name, factory ? factory() : null);
  }
  return made.get(name) ?? null;
}
