// AdamW's update as two elementwise shaders, for backends whose per-kernel cost dominates (WebGPU: ~0.1–0.2 ms
// of host time per dispatch). Written with tfjs ops, one update is ~12 kernels per parameter, 1,700 for the 35M
// model, 0.23 s of a 0.6 s step on the H100. Here it is three: m′, v′ (one shader, specialised for g and g²),
// then p′ from p, m′, v′, registered under the names of the op (lib/ops/adamw.ts, which calls them). Same
// formulas as lib/train/adamw.ts (which says where they come from).
import * as tf from '@tensorflow/tfjs-core';
import { ADAMW_MOMENT_KERNEL, ADAMW_PARAM_KERNEL, type AdamWMomentAttrs, type AdamWParamAttrs } from '../../../ops/adamw';
import { runFlat } from '../program';

/** WGSL bodies; inputs X (moment), G (gradient) / P, M1, M2, bound and declared by tfjs-backend-webgpu. */
export function adamwMomentWgsl(square: boolean): string {
  return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let g = G[index] * uniforms.gradScale;
      setOutputAtIndex(index, uniforms.keep * X[index] + uniforms.mix * ${square ? 'g * g' : 'g'});
    }
  }
`;
}

export const ADAMW_PARAM_WGSL = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let denom = sqrt(M2[index]) * uniforms.invSqrtBc2 + uniforms.eps;
      setOutputAtIndex(index, P[index] * uniforms.decay - uniforms.stepSize * (M1[index] / denom));
    }
  }
`;

/** AdamW in three shaders per parameter. */
export function registerAdamW(): void {
  if (tf.getKernel(ADAMW_PARAM_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ADAMW_MOMENT_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { x, g } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
      const a = attrs as unknown as AdamWMomentAttrs;
      return runFlat(backend, `mlaAdamWMoment${a.square ? 2 : 1}`, adamwMomentWgsl(a.square), x.shape, [x, g], ['X', 'G'], [['keep', 'f32', a.keep], ['mix', 'f32', a.mix], ['gradScale', 'f32', a.gradScale]]);
    },
  });
  tf.registerKernel({
    kernelName: ADAMW_PARAM_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { p, m, v } = inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
      const a = attrs as unknown as AdamWParamAttrs;
      return runFlat(backend, 'mlaAdamWParam', ADAMW_PARAM_WGSL, p.shape, [p, m, v], ['P', 'M1', 'M2'], [['decay', 'f32', a.decay], ['stepSize', 'f32', a.stepSize], ['invSqrtBc2', 'f32', a.invSqrtBc2], ['eps', 'f32', a.eps]]);
    },
  });
}
