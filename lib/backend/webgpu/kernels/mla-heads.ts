// MLA's per-head queries, keys and values gathered straight from the projections (and scattered back for the
// gradients) in one shader each: the kernels of the op of lib/ops/mla-heads.ts. Written with tfjs ops, getting
// from q = cq·W_uq (B, T, H·D) and kv = latent·W_ukv (B, T, H·N + H·Dv) to the fused attention's (B·H, T, ·) inputs took a transpose per
// tensor, slices for the no-RoPE and RoPE parts, a rotation, a tile of the shared RoPE key and two concats,
// ~13 kernels per layer forward and ~16 backward, each a pass over the tensor and a dispatch of host time.
// Kernels (attrs are numbers; rows are (batch, time) pairs, R the rotated tail, rotate-half as rope.ts):
//   split     x (B, T, rowWidth) → (B, H, T, w): head h is columns offset + h·w .. + w − 1, tail R rotated;
//   merge     dy (B, H, T, dyWidth) → (B, T, rowWidth): the transpose of split (its first w columns of each
//             head back in place, the tail rotated back, every other column 0);
//   keyHeads  kv, dkv → (B, H, T, N + R): head h's N key columns of kv, then the shared RoPE key (dkv's last R
//             columns) rotated, the same for every head;
//   keyRopeGrad dk (B, H, T, N + R) → (B, T, L + R): 0 for the L latent columns, then Σ_h of each head's RoPE
//             part rotated back (the shared key's gradient).
// One thread per output element, 256 per workgroup. Scalar code with fa_div/fa_mod, so
// test/backend/webgpu/mla-heads.test.ts runs these shaders translated to JavaScript.
import type * as tf from '@tensorflow/tfjs-core';
import {
  type HeadLayoutAttrs,
  type KeyHeadsAttrs,
  MLA_KEY_HEADS_KERNEL,
  MLA_KEY_ROPE_GRAD_KERNEL,
  MLA_MERGE_HEADS_KERNEL,
  MLA_MERGE_HEADS_ROPE_KERNEL,
  MLA_SPLIT_HEADS_KERNEL,
  MLA_SPLIT_HEADS_ROPE_KERNEL,
} from '../../../ops/mla-heads';
import { FOLDED_WORKGROUP, type WorkgroupKernel, type WorkgroupProgram, foldedDispatch, registerWorkgroupKernels } from '../program';

const THREADS = 256;
const HELPERS = `fn fa_div(a : i32, b : i32) -> i32 { return a / b; }
fn fa_mod(a : i32, b : i32) -> i32 { return a % b; }`;

/** The thread's output index; threads past the end return (no barriers follow). */
const prologue = [HELPERS, 'fn main() {', `  let index = ${FOLDED_WORKGROUP} * ${THREADS} + i32(localId.x);`, '  if (index >= uniforms.total) { return; }'];

/**
 * `y = x·cos + sign·x̃·sin` for element `at` of buffer `buf` whose rotated part starts at `tail`, column j of
 * it, position t: the statements leave it in `y`.
 */
function rotate(buf: string, at: string, j: string, sign: string): string[] {
  return [
    `    let tab = (uniforms.start + t) * uniforms.rotary + ${j};`,
    '    var partner = 0.0;',
    `    if (${j} < uniforms.half) { partner = -${buf}[${at} + uniforms.half]; } else { partner = ${buf}[${at} - uniforms.half]; }`,
    `    y = y * COS[tab] + ${sign} * partner * SIN[tab];`,
  ];
}

/** split: output (B, H, T, width). Inputs X (and COS, SIN with a rotated tail). */
export function splitHeadsWgsl(rope: boolean): string {
  return [
    ...prologue,
    '  let d = fa_mod(index, uniforms.width);',
    '  let t = fa_mod(fa_div(index, uniforms.width), uniforms.T);',
    '  let bh = fa_div(index, uniforms.width * uniforms.T);',
    '  let h = fa_mod(bh, uniforms.heads);',
    '  let b = fa_div(bh, uniforms.heads);',
    '  let at = (b * uniforms.T + t) * uniforms.rowWidth + uniforms.offset + h * uniforms.width + d;',
    '  var y = X[at];',
    ...(rope ? ['  let j = d - (uniforms.width - uniforms.rotary);', '  if (j >= 0) {', ...rotate('X', 'at', 'j', '1.0'), '  }'] : []),
    '  result[index] = y;',
    '}',
  ].join('\n');
}

/** merge: output (B, T, rowWidth). Inputs DY (and COS, SIN). */
export function mergeHeadsWgsl(rope: boolean): string {
  return [
    ...prologue,
    '  let c = fa_mod(index, uniforms.rowWidth) - uniforms.offset;',
    '  let bt = fa_div(index, uniforms.rowWidth);',
    '  let t = fa_mod(bt, uniforms.T);',
    '  let b = fa_div(bt, uniforms.T);',
    '  var y = 0.0;',
    '  if (c >= 0 && c < uniforms.heads * uniforms.width) {',
    '    let h = fa_div(c, uniforms.width);',
    '    let d = fa_mod(c, uniforms.width);',
    '    let at = ((b * uniforms.heads + h) * uniforms.T + t) * uniforms.dyWidth + d;',
    '    y = DY[at];',
    ...(rope ? ['    let j = d - (uniforms.width - uniforms.rotary);', '    if (j >= 0) {', ...rotate('DY', 'at', 'j', '-1.0').map((l) => `  ${l}`), '    }'] : []),
    '  }',
    '  result[index] = y;',
    '}',
  ].join('\n');
}

/** keyHeads: output (B, H, T, N + R). Inputs KV (B, T, kvWidth), DKV (B, T, L + R), COS, SIN. */
export const KEY_HEADS_WGSL = [
  ...prologue,
  '  let w = uniforms.nope + uniforms.rotary;',
  '  let d = fa_mod(index, w);',
  '  let t = fa_mod(fa_div(index, w), uniforms.T);',
  '  let bh = fa_div(index, w * uniforms.T);',
  '  let h = fa_mod(bh, uniforms.heads);',
  '  let b = fa_div(bh, uniforms.heads);',
  '  let bt = b * uniforms.T + t;',
  '  var y = 0.0;',
  '  if (d < uniforms.nope) {',
  '    y = KV[bt * uniforms.kvWidth + h * uniforms.nope + d];',
  '  } else {',
  '    let j = d - uniforms.nope;',
  '    let at = bt * (uniforms.latent + uniforms.rotary) + uniforms.latent + j;',
  '    y = DKV[at];',
  ...rotate('DKV', 'at', 'j', '1.0'),
  '  }',
  '  result[index] = y;',
  '}',
].join('\n');

/** keyRopeGrad: output (B, T, L + R). Inputs DK (B, H, T, N + R), COS, SIN. */
export const KEY_ROPE_GRAD_WGSL = [
  ...prologue,
  '  let w = uniforms.latent + uniforms.rotary;',
  '  let j = fa_mod(index, w) - uniforms.latent;',
  '  let bt = fa_div(index, w);',
  '  let t = fa_mod(bt, uniforms.T);',
  '  let b = fa_div(bt, uniforms.T);',
  '  var acc = 0.0;',
  '  if (j >= 0) {',
  '    for (var h = 0; h < uniforms.heads; h = h + 1) {',
  '      let at = ((b * uniforms.heads + h) * uniforms.T + t) * (uniforms.nope + uniforms.rotary) + uniforms.nope + j;',
  '      var y = DK[at];',
  ...rotate('DK', 'at', 'j', '-1.0').map((l) => `    ${l}`),
  '      acc = acc + y;',
  '    }',
  '  }',
  '  result[index] = acc;',
  '}',
].join('\n');

/** A flat program of `total` outputs. */
function flatProgram(key: string, wgsl: () => string, names: string[], total: number, uniforms: [string, 'i32', number][]): WorkgroupProgram {
  return {
    key,
    wgsl,
    names,
    size: total,
    dispatch: foldedDispatch(Math.ceil(total / THREADS)),
    workgroupSize: [THREADS, 1, 1],
    uniforms: [['total', 'i32', total], ...uniforms],
  };
}

const layoutUniforms = (a: HeadLayoutAttrs, T: number): [string, 'i32', number][] => [
  ['T', 'i32', T],
  ['heads', 'i32', a.heads],
  ['width', 'i32', a.width],
  ['rotary', 'i32', a.rotary],
  ['half', 'i32', a.rotary / 2],
  ['offset', 'i32', a.offset],
  ['rowWidth', 'i32', a.rowWidth],
  ['dyWidth', 'i32', a.dyWidth],
  ['start', 'i32', a.start],
];

const keyUniforms = (a: KeyHeadsAttrs, T: number, kvWidth: number): [string, 'i32', number][] => [
  ['T', 'i32', T],
  ['heads', 'i32', a.heads],
  ['nope', 'i32', a.nope],
  ['rotary', 'i32', a.rotary],
  ['half', 'i32', a.rotary / 2],
  ['latent', 'i32', a.latent],
  ['kvWidth', 'i32', kvWidth],
  ['start', 'i32', a.start],
];

const attrsOf = <T>(a: Record<string, number>) => a as unknown as T;

function split(rope: boolean): WorkgroupKernel {
  return {
    kernelName: rope ? MLA_SPLIT_HEADS_ROPE_KERNEL : MLA_SPLIT_HEADS_KERNEL,
    inputs: rope ? ['x', 'cos', 'sin'] : ['x'],
    program: ([x], attrs) => {
      const a = attrsOf<HeadLayoutAttrs>(attrs);
      const [B, T] = x.shape;
      return flatProgram(`mlaSplitHeads${rope ? 'Rope' : ''}`, () => splitHeadsWgsl(rope), rope ? ['X', 'COS', 'SIN'] : ['X'], B * a.heads * T * a.width, layoutUniforms(a, T));
    },
  };
}

function merge(rope: boolean): WorkgroupKernel {
  return {
    kernelName: rope ? MLA_MERGE_HEADS_ROPE_KERNEL : MLA_MERGE_HEADS_KERNEL,
    inputs: rope ? ['dy', 'cos', 'sin'] : ['dy'],
    program: ([dy], attrs) => {
      const a = attrsOf<HeadLayoutAttrs>(attrs);
      const [BH, T] = dy.shape; // (B·H, T, dyWidth)
      return flatProgram(`mlaMergeHeads${rope ? 'Rope' : ''}`, () => mergeHeadsWgsl(rope), rope ? ['DY', 'COS', 'SIN'] : ['DY'], (BH / a.heads) * T * a.rowWidth, layoutUniforms(a, T));
    },
  };
}

export const MLA_HEAD_KERNELS: WorkgroupKernel[] = [
  split(false),
  split(true),
  merge(false),
  merge(true),
  {
    kernelName: MLA_KEY_HEADS_KERNEL,
    inputs: ['kv', 'dkv', 'cos', 'sin'],
    program: ([kv], attrs) => {
      const a = attrsOf<KeyHeadsAttrs>(attrs);
      const [B, T, kvWidth] = kv.shape;
      return flatProgram('mlaKeyHeads', () => KEY_HEADS_WGSL, ['KV', 'DKV', 'COS', 'SIN'], B * a.heads * T * (a.nope + a.rotary), keyUniforms(a, T, kvWidth));
    },
  },
  {
    kernelName: MLA_KEY_ROPE_GRAD_KERNEL,
    inputs: ['dk', 'cos', 'sin'],
    program: ([dk], attrs) => {
      const a = attrsOf<KeyHeadsAttrs>(attrs);
      const [BH, T] = dk.shape; // (B·H, T, N + R)
      return flatProgram('mlaKeyRopeGrad', () => KEY_ROPE_GRAD_WGSL, ['DK', 'COS', 'SIN'], (BH / a.heads) * T * (a.latent + a.rotary), keyUniforms(a, T, 0));
    },
  },
];

/** Registers the head-layout kernels on 'webgpu'. */
export function registerMlaHeadKernels(): void {
  registerWorkgroupKernels(MLA_HEAD_KERNELS);
}
