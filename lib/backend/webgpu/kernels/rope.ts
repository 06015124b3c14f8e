// Rotary embedding (the op of lib/ops/rope.ts) as one elementwise shader, forward and backward: written with tfjs ops a rotation is ~9
// kernels forward (slices of the tables, split, neg, concat, two products, a sum) and ~7 backward, 16
// rotations per step in the 35M MLA model, and every WebGPU dispatch costs host time.
// Rotate-half layout (lib/ops/rope.ts): y_j = x_j·cos_j + s·x̃_j·sin_j with x̃ = [−x2, x1]; the gradient
// of that map is the same map with s = −1, because the tables repeat each angle in both halves.
// x is (…, T, r) with time second to last; the tables are (maxSeqLen, r) and rows start .. start + T − 1 are used.
import * as tf from '@tensorflow/tfjs-core';
import { ROPE_KERNEL, type RopeAttrs } from '../../../ops/rope';
import { runFlat } from '../program';

export const ROPE_WGSL = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let j = index % uniforms.r;
      let t = (index / uniforms.r) % uniforms.T;
      let tab = (uniforms.start + t) * uniforms.r + j;
      var partner = 0.0;
      if (j < uniforms.half) { partner = -X[index + uniforms.half]; } else { partner = X[index - uniforms.half]; }
      setOutputAtIndex(index, X[index] * COS[tab] + uniforms.sign * partner * SIN[tab]);
    }
  }
`;

/** The shader's uniforms for x of this shape. */
export function ropeUniforms(shape: number[], a: RopeAttrs): [string, 'i32' | 'f32', number][] {
  const r = shape[shape.length - 1];
  return [['r', 'i32', r], ['half', 'i32', r / 2], ['T', 'i32', shape[shape.length - 2]], ['start', 'i32', a.start], ['sign', 'f32', a.sign]];
}

export function registerRopeKernel(): void {
  if (tf.getKernel(ROPE_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ROPE_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { x, cos, sin } = inputs as { x: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const a = attrs as unknown as RopeAttrs;
      // The rows' first position is a uniform: a step graph replays the rotation at later positions.
      return runFlat(backend, 'mlaRope', ROPE_WGSL, x.shape, [x, cos, sin], ['X', 'COS', 'SIN'], ropeUniforms(x.shape, a), (shift) => ropeUniforms(x.shape, { ...a, start: a.start + shift }));
    },
  });
}
