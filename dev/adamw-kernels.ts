// LOST: AdamW as three kernels per parameter (m′, v′ from one moment shader specialised for g and g², then p′),
// moved out of the library as of commit 5dc3d50. It was lib/backend/webgpu/kernels/adamw.ts (the shaders and their
// registration), lib/ops/adamw.ts (the kernel names, attributes and adamwStepKernels) and lib/train/adamw.ts
// (AdamW impl 'kernels', and 'auto' where a backend had these kernels but no in-place update).
// Measured (H100, data/bench/device/session-3/run4-rope-adamw, 35M MLA with RoPE, batch 8, sequence 1024, fp32,
// tokens/s of the trainer's step, two runs): the in-place update (lib/backend/webgpu/kernels/adamw-inplace.ts)
// 51,544 / 52,241 against this three-kernel path 47,684 / 47,583: in place won by ~9%. Against tfjs ops
// (~12 ops per parameter, 0.23 s of a 0.6 s step) this path had cut the update to 0.03–0.05 s per step (session-1).
// Not compiled (tsconfig.json includes lib/, cli/, test/ only); the imports below are as they would be from
// lib/backend/webgpu/kernels/. Its test is dev/adamw-kernels.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWItem, AdamWStepConstants } from '../../../ops/adamw';
import { runFlat } from '../program';

// ---- formerly lib/ops/adamw.ts ----

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

// ---- formerly lib/backend/webgpu/kernels/adamw.ts ----
// // AdamW's update as two elementwise shaders, for backends whose per-kernel cost dominates (WebGPU: ~0.1–0.2 ms
// of host time per dispatch). Written with tfjs ops, one update is ~12 kernels per parameter, 1,700 for the 35M
// model, 0.23 s of a 0.6 s step on the H100. Here it is three: m′, v′ (one shader, specialised for g and g²),
// then p′ from p, m′, v′, registered under the names of the op (lib/ops/adamw.ts, which calls them). Same
// formulas as lib/train/adamw.ts (which says where they come from).

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
