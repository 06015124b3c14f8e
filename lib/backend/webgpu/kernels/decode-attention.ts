// The decode-attention shader (decode-attention-wgsl.ts) as tfjs kernels of the 'webgpu' backend, one per number
// of score terms, under the names of the op (lib/ops/decode-attention.ts); a backend without them runs the op's
// reference (the unfused core's math).
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, type WorkgroupStage, registerWorkgroupKernels } from '../program';
import { type DecodeAttentionAttrs, decodeAttentionKernelName } from '../../../ops/decode-attention';
import {
  DECODE_SPLIT_MIN_TILES, DECODE_THREADS, combineDispatch, decodeAttentionWgsl, decodeCombineWgsl, decodeDispatch, decodeKey, decodeMaxSplits, decodePlan,
  decodeSplits, decodeTiles, decodeUniforms, decodeWorkgroupBytes, partialWidth, splitDispatch, splitUniforms, type DecodePlan,
} from './decode-attention-wgsl';
import {
  LATENT_THREADS, decodeLatentWgsl, latentDispatch, latentKey, latentMaxSplits, latentPartialSize, latentPlan, latentSplits, latentTiles, latentUniforms, latentUnsupported,
  latentWorkgroupBytes, type LatentPlan,
} from './decode-latent-wgsl';

/** The score terms' query and key shapes of inputs q0, k0 (, q1, k1), v. */
function termShapes(terms: 1 | 2, inputs: tf.TensorInfo[]): { qs: number[][]; ks: number[][] } {
  const qs = [inputs[0], ...(terms === 2 ? [inputs[2]] : [])].map((t) => t.shape);
  const ks = [inputs[1], ...(terms === 2 ? [inputs[3]] : [])].map((t) => t.shape);
  return { qs, ks };
}

/** The general shader's plan; staged keys (`stage`) only where their chunk fits the device's workgroup memory too. */
function planOf(terms: 1 | 2, inputs: tf.TensorInfo[], unroll: number, stage: boolean): DecodePlan {
  const { qs, ks } = termShapes(terms, inputs);
  const plan = decodePlan(qs, ks, inputs[inputs.length - 1].shape, unroll, stage);
  return stage && decodeWorkgroupBytes(plan) > workgroupStorage() ? { ...plan, stage: false } : plan;
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

/** The device's workgroup memory in bytes (tfjs asks for the adapter's); unbounded where no GPU device runs the shader (the tests' CPU). */
function workgroupStorage(): number {
  const device = (tf.backend() as unknown as { device?: { limits?: { maxComputeWorkgroupStorageSize?: number } } }).device;
  return device?.limits?.maxComputeWorkgroupStorageSize ?? Number.POSITIVE_INFINITY;
}

/**
 * The latent shader's stages (decode-latent-wgsl.ts) where it takes the call — every key and the value shared, the
 * value the first term's key (the same tensor: absorbed MLA), widths within its registers, its tiles within the
 * device's workgroup memory — else null.
 */
function latentStages(terms: 1 | 2, inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupStage[] | null {
  const { qs, ks } = termShapes(terms, inputs);
  const v = inputs[inputs.length - 1];
  if (latentUnsupported(qs, ks, v.shape, inputs[1].dataId === v.dataId) !== null) return null;
  const plan: LatentPlan = latentPlan(qs, v.shape);
  if (latentWorkgroupBytes(plan) > workgroupStorage()) return null;
  const a = attrs as unknown as DecodeAttentionAttrs;
  const splits = latentSplits(plan, latentTiles(plan.keys, a.qStart, a.queries));
  const dv = plan.d[0];
  const names = terms === 1 ? ['Q0', 'K0'] : ['Q0', 'K0', 'Q1', 'K1'];
  const reads = inputs.slice(0, -1).map((_, i) => i); // V is K0: not bound twice
  const base = { names, reads, workgroupSize: [LATENT_THREADS, 1, 1] as [number, number, number], uniforms: latentUniforms(plan, a, splits), dispatch: latentDispatch(plan, splits) };
  const total = plan.B * plan.rows * dv;
  if (splits === 1) return [{ ...base, key: latentKey(plan), wgsl: () => decodeLatentWgsl(plan), size: total }];
  const partial: WorkgroupStage = { ...base, key: `${latentKey(plan)}_split`, wgsl: () => decodeLatentWgsl(plan, true), size: latentPartialSize(plan) };
  return [partial, combineStage(dv, total, splits, latentMaxSplits(plan), inputs.length)];
}

/**
 * The latent shader where it takes the call (with `latent`); else the single-pass shader when the workgroups are
 * enough or the keys few, or the split pass (partials of (B·Hq·rows, maxSplits, dv + 2)) and the combine that reads
 * them (input index = the kernel's inputs' count).
 */
function stages(terms: 1 | 2, minTiles: number, unroll: number, latent: boolean, stage: boolean) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupStage[] => {
    const fast = latent ? latentStages(terms, inputs, attrs) : null;
    if (fast) return fast;
    const plan = planOf(terms, inputs, unroll, stage);
    const a = attrs as unknown as DecodeAttentionAttrs;
    const tiles = decodeTiles(plan.keys, a.qStart, a.queries);
    const splits = decodeSplits(plan, tiles, minTiles);
    if (splits === 1) return [program(terms, unroll, stage)(inputs, attrs)];
    const single = program(terms, unroll, stage)(inputs, attrs);
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
function program(terms: 1 | 2, unroll: number, stage: boolean) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram => {
    const plan = planOf(terms, inputs, unroll, stage);
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

/**
 * The kernels for one and two score terms: the latent shader where it takes the call (`latent`,
 * MLA_WEBGPU_DECODE_LATENT=on; off by default), else the general one (its keys staged in workgroup memory with `stage`,
 * MLA_WEBGPU_DECODE_STAGE), splitting the keys where a split gets at least `minTiles` tiles of
 * 64 (MLA_WEBGPU_DECODE_SPLIT_TILES), its inner loops `unroll` at a time (MLA_WEBGPU_DECODE_UNROLL); also run on the
 * CPU through the WGSL translator in tests.
 */
export function decodeAttentionKernels(minTiles = DECODE_SPLIT_MIN_TILES, unroll = 1, latent = false, stage = false): WorkgroupKernel[] {
  return [
    { kernelName: decodeAttentionKernelName(1), inputs: ['q0', 'k0', 'v'], program: program(1, unroll, stage), stages: stages(1, minTiles, unroll, latent, stage) },
    { kernelName: decodeAttentionKernelName(2), inputs: ['q0', 'k0', 'q1', 'k1', 'v'], program: program(2, unroll, stage), stages: stages(2, minTiles, unroll, latent, stage) },
  ];
}

/** The kernels at the default split size. */
export const DECODE_ATTENTION_KERNELS: WorkgroupKernel[] = decodeAttentionKernels();

export function registerDecodeAttention(minTiles = DECODE_SPLIT_MIN_TILES, unroll = 1, latent = false, stage = false): void {
  registerWorkgroupKernels(decodeAttentionKernels(minTiles, unroll, latent, stage));
}
