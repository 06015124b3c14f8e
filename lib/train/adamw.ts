// AdamW with decoupled weight decay, as torch.optim.AdamW computes it (tfjs has none):
//   p ← p·(1 − lr·wd)
//   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// The moments m, v are float32 variables the size of each parameter; with the step count t they are the whole
// optimizer state, saved and restored exactly by the trainer's checkpoints.
import * as tf from '@tensorflow/tfjs-core';
import { type AdamWItem, type AdamWStepConstants, type InPlaceAdamW, adamwStepReference, inPlaceAdamW } from '../ops/adamw';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  /** Updates applied so far (t of the bias corrections). */
  step: number;
  m: Record<string, tf.Tensor>;
  v: Record<string, tf.Tensor>;
}

/**
 * 'ops': tfjs ops, any backend. 'fused': one JavaScript loop over each parameter's values (CPU backend only),
 * ~13 passes over memory fused into one; tfjs's CPU kernels take ~100 ms per op on an 8M-element tensor, which
 * made the update cost more than the forward and backward passes of small models. 'inplace': one dispatch
 * per parameter rewriting p, m and v in their buffers (lib/ops/adamw.ts's registry; webgpu).
 * 'auto': fused on 'cpu', else inplace where the backend has it, else ops. (Three kernels per parameter lost
 * to in place by ~9% on the H100: dev/adamw-kernels.ts.)
 */
export const ADAMW_IMPLS = ['auto', 'ops', 'fused', 'inplace'] as const;
export type AdamWImpl = (typeof ADAMW_IMPLS)[number];

/**
 * The update of one parameter in one pass: returns new arrays (the inputs may be tfjs's own backing arrays,
 * shared with other tensors, so they are never written). Intermediates are float64, each stored value float32.
 */
export function adamwFused(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamWStepConstants) {
  const n = p.length;
  const p2 = new Float32Array(n);
  const m2 = new Float32Array(n);
  const v2 = new Float32Array(n);
  const c1 = 1 - k.beta1;
  const c2 = 1 - k.beta2;
  for (let i = 0; i < n; i++) {
    const gi = g[i] * k.gradScale;
    m2[i] = k.beta1 * m[i] + c1 * gi;
    v2[i] = k.beta2 * v[i] + c2 * gi * gi;
    p2[i] = p[i] * k.decay - k.stepSize * (m2[i] / (Math.sqrt(v2[i]) * k.invSqrtBc2 + k.eps));
  }
  return { p: p2, m: m2, v: v2 };
}

/** Gives x a data buffer no other tensor refers to (a copy), if it shares one. */
function ownData(x: tf.Variable): void {
  const backend = tf.backend() as unknown as { refCount(id: object): number };
  if (backend.refCount(x.dataId) <= 1) return;
  const copy = tf.tidy(() => tf.add(x, tf.scalar(0, x.dtype)));
  x.assign(copy);
  copy.dispose();
}

export class AdamW {
  private t = 0;
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};

  constructor(
    readonly params: Record<string, tf.Variable>,
    readonly hp: AdamWConfig,
    readonly impl: AdamWImpl = 'auto',
  ) {
    if (!(ADAMW_IMPLS as readonly string[]).includes(impl)) throw new RangeError(`AdamW impl '${impl}' is refused: allowed: ${ADAMW_IMPLS.join(', ')}`);
    for (const [name, p] of Object.entries(params)) {
      const zero = tf.zerosLike(p);
      // A variable keeps its own reference to the data, so the temporary can go.
      this.m[name] = tf.variable(zero, false);
      this.v[name] = tf.variable(zero, false);
      zero.dispose();
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * One update with gradient `grads[name]·gradScale` for every parameter (gradScale folds in the
   * accumulation average and the clipping factor, so the gradients are read once).
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, gradScale: number): void {
    const k = this.nextStep(lr, gradScale);
    const inPlace = this.inPlace();
    if (this.impl === 'inplace' && !inPlace) throw new Error(`AdamW 'inplace': backend '${tf.getBackend()}' has no in-place update; use 'auto'`);
    if (inPlace) {
      const noStats = tf.zeros([2]); // finite: the update always applies, scaled by gradScale alone
      this.applyInPlace(inPlace, grads, k, noStats);
      noStats.dispose(); // its buffer stays alive until the recorded update is submitted
      return;
    }
    this.applyOther(grads, k);
  }

  /**
   * The update with the clip factor and the finite check taken on the device from `stats` = [loss, gradient
   * norm] (2,) of this step, so the host records it without first waiting to read the norm (on a GPU that
   * wait left it idle while the update was recorded): the gradient is scaled by gradScale ·
   * min(1, maxNorm / (norm + 1e-6)) (maxNorm ≤ 0: no clipping), and a non-finite loss or norm leaves every
   * parameter and moment as it was; the caller reads stats afterwards and, then, calls discardStep().
   * Returns false, doing nothing, where the backend has no in-place update: read stats and call apply.
   */
  applyDeviceClipped(grads: Record<string, tf.Tensor>, lr: number, gradScale: number, stats: tf.Tensor, maxNorm: number): boolean {
    const inPlace = this.inPlace();
    if (!inPlace) return false;
    this.applyInPlace(inPlace, grads, { ...this.nextStep(lr, gradScale), maxNorm: Math.max(0, maxNorm) }, stats);
    return true;
  }

  /** After applyDeviceClipped with a non-finite loss or norm: the device skipped the update, so the step count goes back. */
  discardStep(): void {
    this.t -= 1;
  }

  /** The backend's in-place update where this impl may use it ('inplace', 'auto'), else null. */
  private inPlace(): InPlaceAdamW | null {
    return this.impl === 'inplace' || this.impl === 'auto' ? inPlaceAdamW() : null;
  }

  /** Counts the step and returns its constants: float64 here, rounded once to float32, the same on every resume. */
  private nextStep(lr: number, gradScale: number): AdamWStepConstants {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.hp;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    return { gradScale, beta1, beta2, eps, decay: 1 - lr * weightDecay, invSqrtBc2: 1 / Math.sqrt(bc2), stepSize: lr / bc1 };
  }

  private applyInPlace(inPlace: InPlaceAdamW, grads: Record<string, tf.Tensor>, k: AdamWStepConstants, stats: tf.Tensor): void {
    const items = [];
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      if (!g) continue; // as torch: a parameter the loss does not reach is not updated at all
      // In-place writes would reach every tensor sharing the buffer (moments start as one zero tensor, a
      // restored parameter shares the loaded one): such a variable gets a buffer of its own first.
      for (const x of [p, this.m[name], this.v[name]]) ownData(x);
      items.push({ p, m: this.m[name], v: this.v[name], g });
    }
    inPlace.update(items, k, stats);
  }

  /** The fused (CPU) and ops implementations. */
  private applyOther(grads: Record<string, tf.Tensor>, k: AdamWStepConstants): void {
    const fused = this.impl === 'fused' || (this.impl === 'auto' && tf.getBackend() === 'cpu');
    if (fused) {
      for (const [name, p] of Object.entries(this.params)) {
        const gr = grads[name];
        if (!gr) continue; // as torch: a parameter the loss does not reach is not updated at all
        const out = adamwFused(p.dataSync() as Float32Array, gr.dataSync() as Float32Array, this.m[name].dataSync() as Float32Array, this.v[name].dataSync() as Float32Array, k);
        for (const [variable, values] of [[p, out.p], [this.m[name], out.m], [this.v[name], out.v]] as const) {
          const t = tf.tensor(values, variable.shape, 'float32');
          variable.assign(t);
          t.dispose();
        }
      }
      return;
    }
    const items: AdamWItem[] = [];
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      // As torch: a parameter the loss does not reach gets no update at all (not even weight decay).
      if (g) items.push({ p, m: this.m[name], v: this.v[name], g });
    }
    adamwStepReference(items, k);
  }

  /** The moments (views of the live variables: read them before the next apply) and the step count. */
  state(): AdamWState {
    return { step: this.t, m: { ...this.m }, v: { ...this.v } };
  }

  /** Restores a saved state; shapes must match the parameters. */
  load(step: number, m: Record<string, tf.Tensor>, v: Record<string, tf.Tensor>): void {
    for (const name of Object.keys(this.params)) {
      if (!m[name] || !v[name]) throw new Error(`optimizer state lacks moments of '${name}'`);
      this.m[name].assign(m[name]);
      this.v[name].assign(v[name]);
    }
    this.t = step;
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose();
  }
}
