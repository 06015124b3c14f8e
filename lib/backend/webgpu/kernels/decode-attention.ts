// The decode-attention shader (decode-attention-wgsl.ts) as tfjs kernels of the 'webgpu' backend, one per number
// of score terms, under the names of the op (lib/ops/decode-attention.ts); a backend without them runs the op's
// reference (the unfused core's math).
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, type WorkgroupStage, registerWorkgroupKernels, workgroupStorage } from '../program';
import { type DecodeAttentionAttrs, decodeAttentionKernelName } from '../../../ops/decode-attention';
import {
  DECODE_SPLIT_MIN_TILES, DECODE_THREADS, type DecodePlan, type DecodeShaderChoice, combineDispatch, decodeAttentionWgsl, decodeCombineWgsl, decodeDispatch, decodeKey,
  decodeMaxSplits, decodePlan, decodeSplits, decodeThreads, decodeTiles, decodeUniforms, partialWidth, splitDispatch, splitUniforms,
} from './decode-attention-wgsl';

/** How the kernels build their plans: the split size, the unroll, which shader. */
interface Choices {
  minTiles: number;
  unroll: number;
  shader: DecodeShaderChoice;
}

/** The score terms' query and key shapes of inputs q0, k0 (, q1, k1), v. */
function termShapes(terms: 1 | 2, inputs: tf.TensorInfo[]): { qs: number[][]; ks: number[][] } {
  const qs = [inputs[0], ...(terms === 2 ? [inputs[2]] : [])].map((t) => t.shape);
  const ks = [inputs[1], ...(terms === 2 ? [inputs[3]] : [])].map((t) => t.shape);
  return { qs, ks };
}

function planOf(terms: 1 | 2, inputs: tf.TensorInfo[], c: Choices): DecodePlan {
  const { qs, ks } = termShapes(terms, inputs);
  return decodePlan(qs, ks, inputs[inputs.length - 1].shape, c.unroll, c.shader, workgroupStorage());
}

/** The combine of split partials (B·Hq·rows, maxSplits, dv + 2), which it reads as input `at`. */
function combineStage(dv: number, total: number, splits: number, maxSplits: number, at: number): WorkgroupStage {
  return {
    key: `mlaDecodeCombine_${dv}`,
    wgsl: () => decodeCombineWgsl(dv),
    names: ['P'],
    reads: [at],
    size: total,
    dispatch: combineDispatch(total),
    workgroupSize: [DECODE_THREADS, 1, 1],
    uniforms: [
      ['total', 'i32', total],
      ['splits', 'i32', splits],
      ['maxSplits', 'i32', maxSplits],
    ],
  };
}

/**
 * The single-pass shader when the workgroups are enough or the keys few, else the split pass (partials of (B·Hq·rows, maxSplits, dv + 2)) and the combine that reads
 * them (input index = the kernel's inputs' count).
 */
function stages(terms: 1 | 2, c: Choices) {
  const { minTiles } = c;
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupStage[] => {
    const plan = planOf(terms, inputs, c);
    const a = attrs as unknown as DecodeAttentionAttrs;
    const tiles = decodeTiles(plan.keys, a.qStart, a.queries);
    const splits = decodeSplits(plan, tiles, minTiles);
    if (splits === 1) return [program(terms, c)(inputs, attrs)];
    const single = program(terms, c)(inputs, attrs);
    const total = plan.B * plan.heads * plan.rows * plan.dv;
    const partial: WorkgroupStage = {
      ...single,
      key: `${single.key}_split`,
      wgsl: () => decodeAttentionWgsl(plan, true),
      size: plan.B * plan.heads * plan.rows * decodeMaxSplits(plan, minTiles) * partialWidth(plan.dv),
      dispatch: splitDispatch(plan, splits),
      uniforms: [...single.uniforms, ...splitUniforms(plan, tiles, splits, minTiles)],
    };
    return [partial, combineStage(plan.dv, total, splits, decodeMaxSplits(plan, minTiles), inputs.length)];
  };
}

/** The single-pass shader for these inputs: q0, k0 (, q1, k1), v. */
function program(terms: 1 | 2, c: Choices) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram => {
    const plan = planOf(terms, inputs, c);
    return {
      key: decodeKey(plan),
      wgsl: () => decodeAttentionWgsl(plan),
      names: terms === 1 ? ['Q0', 'K0', 'V'] : ['Q0', 'K0', 'Q1', 'K1', 'V'],
      size: plan.B * plan.heads * plan.rows * plan.dv,
      dispatch: decodeDispatch(plan),
      workgroupSize: [decodeThreads(plan), 1, 1],
      uniforms: decodeUniforms(plan, attrs as unknown as DecodeAttentionAttrs),
    };
  };
}

/**
 * The kernels for one and two score terms, splitting the keys where a split gets at least `minTiles` tiles of
 * 64 (MLA_WEBGPU_DECODE_SPLIT_TILES), its inner loops `unroll` at a time (MLA_WEBGPU_DECODE_UNROLL); also run on the
 * CPU through the WGSL translator in tests. `shader` picks the shader (MLA_WEBGPU_DECODE_SHADER; the unroll is the
 * row shader's only).
 */
export function decodeAttentionKernels(minTiles = DECODE_SPLIT_MIN_TILES, unroll = 1, shader: DecodeShaderChoice = 'auto'): WorkgroupKernel[] {
  const c: Choices = { minTiles, unroll, shader };
  return [
    { kernelName: decodeAttentionKernelName(1), inputs: ['q0', 'k0', 'v'], program: program(1, c), stages: stages(1, c), positional: () => ['qStart'] },
    { kernelName: decodeAttentionKernelName(2), inputs: ['q0', 'k0', 'q1', 'k1', 'v'], program: program(2, c), stages: stages(2, c), positional: () => ['qStart'] },
  ];
}

/** The kernels at the default split size. */
export const DECODE_ATTENTION_KERNELS: WorkgroupKernel[] = decodeAttentionKernels();

export function registerDecodeAttention(minTiles = DECODE_SPLIT_MIN_TILES, unroll = 1, shader: DecodeShaderChoice = 'auto'): void {
  registerWorkgroupKernels(decodeAttentionKernels(minTiles, unroll, shader));
}
