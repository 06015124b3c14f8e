// Rotary position embedding, rotate-half (GPT-NeoX) layout, for positions start .. start + T − 1 of the
// tables: y_j = x_j·cos_j + s·x̃_j·sin_j with x̃ = [−x2, x1]. The op, its reference composition, and the kernel a
// backend may register (lib/backend/webgpu/kernels/rope.ts: one elementwise shader instead of ~9 kernels
// forward and ~7 backward). The gradient of the map is the same map with s = −1, because the tables repeat
// each angle in both halves. lib/attention/rope.ts builds the tables and checks positions.
// x is (…, T, r) with time second to last; the tables are (maxSeqLen, r).
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Inputs x, cos, sin; attrs start, sign (1 forward, −1 backward); output like x. */
export const ROPE_KERNEL = 'MlaRope';

export interface RopeAttrs {
  start: number;
  sign: number;
}

export interface RopeTables {
  /** cos and sin of (position × frequency), (maxSeqLen, r): the r/2 angles written twice (rotate-half). */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  rotaryDim: number;
}

export function hasRopeKernel(): boolean {
  return hasKernel(ROPE_KERNEL);
}

/** x (…, T, r) rotated for positions start ..: the backend's kernel where it has one, else the reference. */
export function rope(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  if (hasRopeKernel()) return ropeKernel(x, tables, start);
  return ropeReference(x, tables, start);
}

/** rotate_half(x) = [-x2, x1] for x = [x1, x2] split at the middle of the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const r = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [r / 2, r / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/** The rotation with tfjs ops (tfjs differentiates it). */
export function ropeReference(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  const T = x.shape[x.shape.length - 2];
  const r = tables.rotaryDim;
  const cos = tf.slice(tables.cos, [start, 0], [T, r]); // (T, r), broadcast over leading axes
  const sin = tf.slice(tables.sin, [start, 0], [T, r]);
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
}

/** The rotation as the backend's one kernel, its gradient the inverse rotation. */
function ropeKernel(x: tf.Tensor, tables: RopeTables, start: number): tf.Tensor {
  const rotate = (t: tf.Tensor, sign: number) =>
    tf.engine().runKernel(ROPE_KERNEL, { x: t, cos: tables.cos, sin: tables.sin }, { start, sign } satisfies RopeAttrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const f = tf.customGrad(((xi: tf.Tensor) => ({ value: rotate(xi, 1), gradFunc: (dy: tf.Tensor) => rotate(dy, -1) })) as never);
  return f(x) as tf.Tensor;
}
