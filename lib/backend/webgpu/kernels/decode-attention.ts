// The decode-attention shader (decode-attention-wgsl.ts) as tfjs kernels of the 'webgpu' backend, one per number
// of score terms, under the names of the op (lib/ops/decode-attention.ts); a backend without them runs the op's
// reference (the unfused core's math).
import type * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels } from '../program';
import { type DecodeAttentionAttrs, decodeAttentionKernelName } from '../../../ops/decode-attention';
import { DECODE_THREADS, decodeAttentionWgsl, decodeDispatch, decodeKey, decodePlan, decodeUniforms } from './decode-attention-wgsl';

/** The shader for these inputs: q0, k0 (, q1, k1), v. */
function program(terms: 1 | 2) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram => {
    const qs = [inputs[0], ...(terms === 2 ? [inputs[2]] : [])].map((t) => t.shape);
    const ks = [inputs[1], ...(terms === 2 ? [inputs[3]] : [])].map((t) => t.shape);
    const v = inputs[inputs.length - 1];
    const plan = decodePlan(qs, ks, v.shape);
    return {
      key: decodeKey(plan),
      wgsl: () => decodeAttentionWgsl(plan),
      names: terms === 1 ? ['Q0', 'K0', 'V'] : ['Q0', 'K0', 'Q1', 'K1', 'V'],
      size: plan.B * plan.heads * plan.rows * plan.dv,
      dispatch: decodeDispatch(plan),
      workgroupSize: [DECODE_THREADS, 1, 1],
      uniforms: decodeUniforms(plan, attrs as unknown as DecodeAttentionAttrs),
    };
  };
}

/** The kernels for one and two score terms (also run on the CPU through the WGSL translator in tests). */
export const DECODE_ATTENTION_KERNELS: WorkgroupKernel[] = [
  { kernelName: decodeAttentionKernelName(1), inputs: ['q0', 'k0', 'v'], program: program(1) },
  { kernelName: decodeAttentionKernelName(2), inputs: ['q0', 'k0', 'q1', 'k1', 'v'], program: program(2) },
];

export function registerDecodeAttention(): void {
  registerWorkgroupKernels(DECODE_ATTENTION_KERNELS);
}
