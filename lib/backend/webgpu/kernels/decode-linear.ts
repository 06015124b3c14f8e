// The decode linear of lib/ops/decode-linear.ts as one WGSL shader on 'webgpu': act(LN?(x) · [W_0 | W_1 | W_2] +
// bias) + residual for the few rows of a decode step, one dispatch where tfjs ran 3 to 6.
// At batch 1 the shader is a matrix-vector product: it reads the K × N weights once, and its time is how many of
// those loads are in flight. So each workgroup of 256 threads owns only 8 output columns (⌈N/8⌉ workgroups: 64 for
// N = 512, where 32 columns made 16 on a 132-SM GPU) and up to 4 rows, and splits K 32 ways: thread (c, s) =
// (tid mod 8, tid / 8) sums column c over the rows k ≡ s (mod 32) of its weight, so a warp reads 8 adjacent floats
// (one 32-byte sector) from each of 4 weight rows, and each thread walks K/32 rows, 4 independent loads issued before
// their FMAs: a main loop of ⌊K/128⌋ groups of 4 rows (a constant trip count, the same in every thread), then a
// remainder loop over the K mod 128 rows left (at most 4 a thread). Each thread keeps its rows' sums in
// ascending k; the 32 slices' partial sums meet in workgroup memory, and thread (c, s) with s < block adds row s's
// 32 in slice order (deterministic), then the bias, relu and the residual. A column's weight is chosen per thread,
// so the 8 columns of a workgroup may straddle W_0 | W_1 | W_2 (widths like 341 and 16 are no multiples of 8).
// The workgroup's input rows (block × K floats, at most DL_STAGE_FLOATS and within the device's workgroup memory)
// are staged in workgroup memory once, so the K loop's only global loads are weights. With LayerNorm they are
// staged normalised: the rows' mean and 1/√(var + eps) by the reference's two passes (the mean, then the mean of
// squared deviations; each thread's strided partial sums, 32 lanes of 8, then one of 32), then each thread
// normalises the inputs it staged. Where the rows do not fit (K > 2048 at 4 rows, or a device with less workgroup
// memory), the K loop reads x (normalised as it reads it) from global memory as before. K is a constant of the
// shader (its pipeline key names it, with the widths, the flags, the block and whether the rows are staged).
// Workgroup memory: the staged rows (4·block·K bytes), the partial sums (4·block·264: 256 threads padded by 8, so the
// final sums of 4 rows read distinct banks) and with LayerNorm the rows' statistics (8·block). The 35M model at
// batch 1: 2 KiB + 1056 B + 8 B for K = 512, 8 KiB + 1056 B for the MLP's K = 2048; at 4 rows 8 KiB + 4224 B + 32 B
// for K = 512 and 32 KiB + 4224 B for K = 2048 (staged where the device has that: the H200's Dawn gives 48 KiB).
// Scalar code only, so test/backend/webgpu/decode-linear.test.ts runs this shader translated to JavaScript.
// Shape legend: M rows, X input row width, K inputs (from column `offset`), N = Σ N_i outputs, block rows a workgroup.
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels, workgroupStorage } from '../program';
import { DECODE_LINEAR_KERNEL, DECODE_LINEAR_MAX_WEIGHTS, type DecodeLinearAttrs } from '../../../ops/decode-linear';

/** Output columns a workgroup owns: one 32-byte sector of a weight row. */
export const DL_COLS = 8;
/** Ways K is split within a workgroup: thread (c, s) sums the rows k ≡ s (mod DL_SLICES). */
export const DL_SLICES = 32;
/** Rows a workgroup takes at most (its threads keep that many sums). */
export const DL_ROWS = 4;
/** Weight loads a thread issues before their FMAs in the K loop's main part. */
export const DL_UNROLL = 4;
/** The most input floats (block × K) staged in workgroup memory: 32 KiB. */
export const DL_STAGE_FLOATS = 8192;
const THREADS = DL_COLS * DL_SLICES;
/** One row's partial sums in workgroup memory: a float per thread, padded so that 4 rows' column sums differ in bank. */
const PART_STRIDE = THREADS + DL_COLS;
/** Lanes of the statistics' first reduction level (each adds THREADS / STAT_LANES partial sums). */
const STAT_LANES = 32;

export interface DecodeLinearPlan {
  rows: number;
  /** x's row width. */
  width: number;
  /** Inputs: a constant of the shader (the loop bounds, the staged rows' size). */
  K: number;
  /** Output columns of each weight. */
  n: number[];
  offset: number;
  norm: boolean;
  bias: boolean;
  relu: boolean;
  residual: boolean;
  /** Rows per workgroup: DL_ROWS, or all of them when fewer (a batch-1 step keeps one row's sums, not four). */
  block: number;
  /** The block's input rows staged (normalised, with LayerNorm) in workgroup memory; else read in the K loop. */
  stage: boolean;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** WGSL `${a} + e`, or e alone where a is 0. */
const plus = (a: number, e: string) => (a === 0 ? e : `${a} + ${e}`);

/** Workgroup memory of the plan's shader in bytes. */
export function decodeLinearWorkgroupBytes(p: Pick<DecodeLinearPlan, 'K' | 'block' | 'norm' | 'stage'>): number {
  return 4 * ((p.stage ? p.block * p.K : 0) + PART_STRIDE * p.block + (p.norm ? 2 * p.block : 0));
}

/**
 * Reduces part[r·PART_STRIDE + tid] (tid < THREADS, r < block) to stat[at + r] = f(Σ): 32 lanes each add 8 in turn,
 * then thread r adds its row's 32 lanes. Every thread reaches every barrier; stat is read after the last.
 */
function rowSums(block: number, at: number, f: (sum: string) => string): string[] {
  const per = THREADS / STAT_LANES;
  return [
    '  workgroupBarrier();',
    `  if (tid < ${STAT_LANES * block}) {`,
    `    let sr = tid / ${STAT_LANES};`,
    `    let sl = sr * ${PART_STRIDE} + tid % ${STAT_LANES};`,
    '    var t = 0.0;',
    ...range(per).map((q) => `    t = t + part[sl + ${q * STAT_LANES}];`),
    '    part[sl] = t; // only this thread reads or writes sl, sl + 32, …',
    '  }',
    '  workgroupBarrier();',
    `  if (tid < ${block}) {`,
    '    var t = 0.0;',
    `    for (var l = 0; l < ${STAT_LANES}; l = l + 1) { t = t + part[tid * ${PART_STRIDE} + l]; }`,
    `    stat[${plus(at, 'tid')}] = ${f('t')};`,
    '  }',
    '  workgroupBarrier();',
  ];
}

/** The shader: inputs X, W0 [, W1, W2], [G, BETA], [BIAS], [RES]; output (M, N) flat. */
export function decodeLinearWgsl(p: DecodeLinearPlan): string {
  const N = p.n.reduce((a, b) => a + b, 0);
  const { K, block } = p;
  const rows = range(block);
  const L: string[] = [];
  L.push(`var<workgroup> part : array<f32, ${PART_STRIDE * block}>;`);
  if (p.stage) L.push(`var<workgroup> xin : array<f32, ${block * K}>;`);
  if (p.norm) L.push(`var<workgroup> stat : array<f32, ${2 * block}>;`);
  L.push('fn main() {');
  L.push('  let tid = i32(localId.x);');
  L.push(`  let c = tid % ${DL_COLS};`);
  L.push(`  let s = tid / ${DL_COLS};`);
  L.push(`  let n = i32(workgroupId.x) * ${DL_COLS} + c;`);
  L.push(`  let row0 = i32(workgroupId.y) * ${block};`);
  // Rows past M read row M − 1 (in bounds) and are never written.
  for (const r of rows) L.push(`  let base${r} = min(row0 + ${r}, uniforms.rows - 1) * uniforms.width + uniforms.offset;`);
  // Staging and the statistics: thread tid reads (and stages) the inputs k ≡ tid (mod 256) of every row, and the
  // statistics' partial sums are over those alone, so until the K loop no thread reads another's staged inputs.
  const xs = (r: number, k: string) => (p.stage ? `xin[${plus(r * K, k)}]` : `X[base${r} + ${k}]`);
  const each = (body: (r: number) => string) => `  for (var k = tid; k < ${K}; k = k + ${THREADS}) { ${rows.map(body).join(' ')} }`;
  if (p.norm) {
    for (const r of rows) L.push(`  var sum${r} = 0.0;`);
    L.push(each((r) => `let v${r} = X[base${r} + k];${p.stage ? ` ${xs(r, 'k')} = v${r};` : ''} sum${r} = sum${r} + v${r};`));
    for (const r of rows) L.push(`  part[${plus(r * PART_STRIDE, 'tid')}] = sum${r};`);
    L.push(...rowSums(block, 0, (t) => `${t} / ${K}.0`));
    for (const r of rows) L.push(`  let mean${r} = stat[${r}];`);
    for (const r of rows) L.push(`  var dev${r} = 0.0;`);
    L.push(each((r) => `let d${r} = ${xs(r, 'k')} - mean${r}; dev${r} = dev${r} + d${r} * d${r};`));
    for (const r of rows) L.push(`  part[${plus(r * PART_STRIDE, 'tid')}] = dev${r};`);
    L.push(...rowSums(block, block, (t) => `inverseSqrt(${t} / ${K}.0 + uniforms.eps)`));
    for (const r of rows) L.push(`  let rstd${r} = stat[${block + r}];`);
    if (p.stage) L.push(each((r) => `${xs(r, 'k')} = (${xs(r, 'k')} - mean${r}) * rstd${r} * G[k] + BETA[k];`));
  } else if (p.stage) {
    L.push(each((r) => `${xs(r, 'k')} = X[base${r} + k];`));
  }
  if (p.stage) L.push('  workgroupBarrier(); // the staged rows are complete');
  // The K loop: input k of row r, as staged or read (and normalised) from X.
  const input = (r: number, k: string) => {
    if (p.stage) return `xin[${plus(r * K, k)}]`;
    if (p.norm) return `(X[base${r} + ${k}] - mean${r}) * rstd${r} * G[${k}] + BETA[${k}]`;
    return `X[base${r} + ${k}]`;
  };
  // This thread's rows s, s + 32, …: the main loop takes them 4 at a time over the first kMain rows of K (the same
  // constant trip count in every thread), the remainder loop the K − kMain < 128 rows left (at most 4 a thread).
  const step = DL_SLICES * DL_UNROLL;
  const kMain = Math.floor(K / step) * step;
  for (const r of rows) L.push(`  var acc${r} = 0.0;`);
  let first = 0;
  p.n.forEach((Ni, i) => {
    const cond = i === 0 ? `if (n < ${Ni})` : `if (n >= ${first} && n < ${first + Ni})`;
    const at = (k: string) => `W${i}[${k} * ${Ni} + col]`;
    const kj = (j: number) => (j === 0 ? 'k' : `k + ${j * DL_SLICES}`);
    L.push(`  ${cond} {`);
    L.push(first === 0 ? '    let col = n;' : `    let col = n - ${first};`);
    if (kMain > 0) {
      L.push(`    for (var k0 = 0; k0 < ${kMain}; k0 = k0 + ${step}) {`);
      L.push('      let k = k0 + s;');
      for (const j of range(DL_UNROLL)) L.push(`      let w${j} = ${at(j === 0 ? 'k' : `(${kj(j)})`)};`);
      for (const r of rows) for (const j of range(DL_UNROLL)) L.push(`      acc${r} = acc${r} + (${input(r, kj(j))}) * w${j};`);
      L.push('    }');
    }
    if (kMain < K) {
      L.push(`    for (var k = ${plus(kMain, 's')}; k < ${K}; k = k + ${DL_SLICES}) {`);
      L.push(`      let w0 = ${at('k')};`);
      for (const r of rows) L.push(`      acc${r} = acc${r} + (${input(r, 'k')}) * w0;`);
      L.push('    }');
    }
    L.push('  }');
    first += Ni;
  });
  for (const r of rows) L.push(`  part[${plus(r * PART_STRIDE, 'tid')}] = acc${r};`);
  L.push('  workgroupBarrier();');
  // Thread (c, s < block) finishes column n of row row0 + s.
  L.push(`  if (s < ${block} && n < ${N} && row0 + s < uniforms.rows) {`);
  L.push('    var v = 0.0;');
  L.push(`    for (var q = 0; q < ${DL_SLICES}; q = q + 1) { v = v + part[s * ${PART_STRIDE} + q * ${DL_COLS} + c]; }`);
  if (p.bias) L.push('    v = v + BIAS[n];');
  if (p.relu) L.push('    v = max(v, 0.0);');
  L.push(`    let o = (row0 + s) * ${N} + n;`);
  if (p.residual) L.push('    v = RES[o] + v;');
  L.push('    result[o] = v;');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/** The plan of a call; `storage` is the device's workgroup memory in bytes (the rows are staged only within it). */
export function decodeLinearPlan(inputs: tf.TensorInfo[], a: DecodeLinearAttrs, storage = workgroupStorage()): DecodeLinearPlan {
  const x = inputs[0];
  const width = x.shape[x.shape.length - 1];
  const ws = inputs.slice(1, 1 + a.weights);
  const rows = tf.util.sizeFromShape(x.shape) / width;
  const K = ws[0].shape[0];
  const block = Math.min(DL_ROWS, rows);
  const norm = a.norm === 1;
  const stage = block * K <= DL_STAGE_FLOATS && decodeLinearWorkgroupBytes({ K, block, norm, stage: true }) <= storage;
  return {
    rows, width, K, n: ws.map((w) => w.shape[1]), offset: a.offset,
    norm, bias: a.bias === 1, relu: a.relu === 1, residual: a.residual === 1, block, stage,
  };
}

/** Names the pipeline: everything the WGSL is built from (widths, K, flags, block), not the uniforms. */
export function decodeLinearKey(p: DecodeLinearPlan): string {
  const flags = `${p.norm ? 'n' : ''}${p.bias ? 'b' : ''}${p.relu ? 'r' : ''}${p.residual ? 'a' : ''}${p.stage ? 's' : ''}`;
  return `mlaDecodeLinear8x32_${p.n.join('_')}_K${p.K}_${flags}${p.block}`;
}

export function decodeLinearProgram(inputs: tf.TensorInfo[], attrs: Record<string, number>, storage?: number): WorkgroupProgram {
  const a = attrs as unknown as DecodeLinearAttrs;
  const p = decodeLinearPlan(inputs, a, storage);
  const N = p.n.reduce((s, v) => s + v, 0);
  const names = ['X', ...p.n.map((_, i) => `W${i}`), ...(p.norm ? ['G', 'BETA'] : []), ...(p.bias ? ['BIAS'] : []), ...(p.residual ? ['RES'] : [])];
  if (names.length !== inputs.length) throw new Error(`decode linear: ${inputs.length} inputs for the shader's ${names.join(', ')}`);
  return {
    key: decodeLinearKey(p),
    wgsl: () => decodeLinearWgsl(p),
    names,
    size: p.rows * N,
    dispatch: [Math.ceil(N / DL_COLS), Math.ceil(p.rows / p.block), 1],
    workgroupSize: [THREADS, 1, 1],
    uniforms: [
      ['rows', 'i32', p.rows],
      ['width', 'i32', p.width],
      ['offset', 'i32', p.offset],
      ['eps', 'f32', a.eps],
    ],
  };
}

/** Inputs by name in the op's order; the absent optional ones are left out of the shader. */
export const DECODE_LINEAR_KERNELS: WorkgroupKernel[] = [
  {
    kernelName: DECODE_LINEAR_KERNEL,
    inputs: ['x', ...Array.from({ length: DECODE_LINEAR_MAX_WEIGHTS }, (_, i) => `w${i}`), 'gamma', 'beta', 'bias', 'residual'],
    program: (inputs, attrs) => decodeLinearProgram(inputs, attrs),
  },
];

export function registerDecodeLinear(): void {
  registerWorkgroupKernels(DECODE_LINEAR_KERNELS);
}
