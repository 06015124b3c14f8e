// AdamW's update as two elementwise shaders, for backends whose per-kernel cost dominates (WebGPU: ~0.1–0.2 ms
// of host time per dispatch). Written with tfjs ops, one update is ~12 kernels per parameter, 1,700 for the 35M
// model, 0.23 s of a 0.6 s step on the H100. Here it is three: m′, v′ (one shader, specialised for g and g²),
// then p′ from p, m′, v′. Same formulas as lib/train/adamw.ts (which says where they come from).
export const ADAMW_MOMENT_KERNEL = 'MlaAdamWMoment';
export const ADAMW_PARAM_KERNEL = 'MlaAdamWParam';

/** m′ = keep·m + mix·(g·gradScale), or with (g·gradScale)² when `square` (the second moment). */
export interface AdamWMomentAttrs {
  keep: number;
  mix: number;
  gradScale: number;
  square: boolean;
}

/** p′ = p·decay − stepSize · m′ / (√v′ · invSqrtBc2 + eps). */
export interface AdamWParamAttrs {
  decay: number;
  stepSize: number;
  invSqrtBc2: number;
  eps: number;
}

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
