// One AdamW update of a list of parameters (the formulas are lib/train/adamw.ts's, which says where they come
// from): its reference composition with tfjs ops, and the registry of in-place updates a backend may provide
// (one dispatch per parameter rewriting p, m and v in their buffers; lib/backend/webgpu/kernels/adamw-inplace.ts
// registers it under the backend's name). The three-kernel path it replaced is in dev/adamw-kernels.ts.
// An in-place update keeps each parameter's dataId, so inPlaceAdamW() counts it as a write of p, m and v
// (data-version.ts): memos derived from the weights (lib/attention/weight-memo.ts) then see the change.
import * as tf from '@tensorflow/tfjs-core';
import { markWritten } from './data-version';

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

/** One parameter of the reference path: p, m, v are assigned their new values. */
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

/** The backend's update, each call also counted as a write of every p, m and v it rewrote. */
function counted(inner: InPlaceAdamW): InPlaceAdamW {
  return {
    update(items, k, stats) {
      inner.update(items, k, stats);
      for (const it of items) for (const t of [it.p, it.m, it.v]) markWritten(t);
    },
  };
}

/** The in-place update of the current backend, or null (then AdamW uses tfjs ops). */
export function inPlaceAdamW(): InPlaceAdamW | null {
  const name = tf.getBackend();
  if (!made.has(name)) {
    const factory = registered.get(name);
    made.set(name, factory ? counted(factory()) : null);
  }
  return made.get(name) ?? null;
}
