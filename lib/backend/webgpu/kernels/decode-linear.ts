// The decode linear of lib/ops/decode-linear.ts as one WGSL shader on 'webgpu': act(LN?(x) · [W_0 | W_1 | W_2] +
// bias) + residual for the few rows of a decode step, one dispatch where tfjs ran 3 to 6.
// Each workgroup of 256 threads owns 32 output columns and up to 4 rows: thread (c, s) = (tid mod 32, tid / 32) sums
// column c over the rows k ≡ s (mod 8) of its weight (a warp reads 32 adjacent floats of one weight row), the 8
// partial sums meet in workgroup memory, and the 32 threads of s = 0 add them in order, then the bias, relu and the
// residual. With LayerNorm each workgroup first computes its rows' mean and 1/√(var + eps) (the
// reference's two passes: the mean, then the mean of squared deviations), and normalises each input as it reads it:
// the rows are a few hundred floats, read again by every workgroup, which costs less than a dispatch.
// Scalar code only, so test/backend/webgpu/decode-linear.test.ts runs this shader translated to JavaScript.
// Shape legend: M rows, X input row width, K inputs (from column `offset`), N = Σ N_i outputs.
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels } from '../program';
import { DECODE_LINEAR_KERNEL, DECODE_LINEAR_MAX_WEIGHTS, type DecodeLinearAttrs } from '../../../ops/decode-linear';

export const DL_COLS = 32;
export const DL_SLICES = 8;
export const DL_ROWS = 4;
const THREADS = DL_COLS * DL_SLICES;

export interface DecodeLinearPlan {
  rows: number;
  /** x's row width. */
  width: number;
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
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Tree sum of red[0 .. THREADS) into red[0]; every thread reaches every barrier. */
function treeSum(): string[] {
  const L: string[] = [];
  for (let s = THREADS / 2; s >= 1; s /= 2) {
    L.push('  workgroupBarrier();');
    L.push(`  if (tid < ${s}) { red[tid] = red[tid] + red[tid + ${s}]; }`);
  }
  L.push('  workgroupBarrier();');
  return L;
}

/** The shader: inputs X, W0 [, W1, W2], [G, BETA], [BIAS], [RES]; output (M, N) flat. */
export function decodeLinearWgsl(p: DecodeLinearPlan): string {
  const N = p.n.reduce((a, b) => a + b, 0);
  const L: string[] = [];
  L.push(`var<workgroup> part : array<f32, ${THREADS * p.block}>;`);
  if (p.norm) L.push(`var<workgroup> red : array<f32, ${THREADS}>;`);
  L.push('fn main() {');
  L.push('  let tid = i32(localId.x);');
  L.push(`  let c = tid % ${DL_COLS};`);
  L.push(`  let s = tid / ${DL_COLS};`);
  L.push(`  let n = i32(workgroupId.x) * ${DL_COLS} + c;`);
  L.push(`  let row0 = i32(workgroupId.y) * ${p.block};`);
  // Rows past M read row M − 1 (in bounds) and are never written.
  for (const r of range(p.block)) L.push(`  let base${r} = min(row0 + ${r}, uniforms.rows - 1) * uniforms.width + uniforms.offset;`);
  if (p.norm) {
    for (const r of range(p.block)) {
      L.push(`  var sum${r} = 0.0;`);
      L.push(`  for (var k = tid; k < uniforms.K; k = k + ${THREADS}) { sum${r} = sum${r} + X[base${r} + k]; }`);
      L.push(`  red[tid] = sum${r};`);
      L.push(...treeSum());
      L.push(`  let mean${r} = red[0] / f32(uniforms.K);`);
      L.push('  workgroupBarrier(); // every thread has read red[0] before it is overwritten');
      L.push(`  var dev${r} = 0.0;`);
      L.push(`  for (var k = tid; k < uniforms.K; k = k + ${THREADS}) { let d = X[base${r} + k] - mean${r}; dev${r} = dev${r} + d * d; }`);
      L.push(`  red[tid] = dev${r};`);
      L.push(...treeSum());
      L.push(`  let rstd${r} = inverseSqrt(red[0] / f32(uniforms.K) + uniforms.eps);`);
      L.push('  workgroupBarrier();');
    }
  }
  for (const r of range(p.block)) L.push(`  var acc${r} = 0.0;`);
  const input = (r: number) => (p.norm ? `(X[base${r} + k] - mean${r}) * rstd${r} * G[k] + BETA[k]` : `X[base${r} + k]`);
  let first = 0;
  p.n.forEach((Ni, i) => {
    const cond = i === 0 ? `if (n < ${Ni})` : ` else if (n < ${first + Ni})`;
    L.push(`  ${cond} {`);
    L.push(`    let col = n - ${first};`);
    L.push(`    for (var k = s; k < uniforms.K; k = k + ${DL_SLICES}) {`);
    L.push(`      let w = W${i}[k * ${Ni} + col];`);
    for (const r of range(p.block)) L.push(`      acc${r} = acc${r} + (${input(r)}) * w;`);
    L.push('    }');
    L.push('  }');
    first += Ni;
  });
  for (const r of range(p.block)) L.push(`  part[tid * ${p.block} + ${r}] = acc${r};`);
  L.push('  workgroupBarrier();');
  L.push(`  if (s == 0 && n < ${N}) {`);
  for (const r of range(p.block)) {
    L.push(`    if (row0 + ${r} < uniforms.rows) {`);
    L.push('      var v = 0.0;');
    for (const q of range(DL_SLICES)) L.push(`      v = v + part[(${q * DL_COLS} + c) * ${p.block} + ${r}];`);
    if (p.bias) L.push('      v = v + BIAS[n];');
    if (p.relu) L.push('      v = max(v, 0.0);');
    L.push(`      let o = (row0 + ${r}) * ${N} + n;`);
    if (p.residual) L.push('      v = RES[o] + v;');
    L.push('      result[o] = v;');
    L.push('    }');
  }
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

export function decodeLinearPlan(inputs: tf.TensorInfo[], a: DecodeLinearAttrs): DecodeLinearPlan {
  const x = inputs[0];
  const width = x.shape[x.shape.length - 1];
  const ws = inputs.slice(1, 1 + a.weights);
  const rows = tf.util.sizeFromShape(x.shape) / width;
  return {
    rows, width, K: ws[0].shape[0], n: ws.map((w) => w.shape[1]), offset: a.offset,
    norm: a.norm === 1, bias: a.bias === 1, relu: a.relu === 1, residual: a.residual === 1,
    block: Math.min(DL_ROWS, rows),
  };
}

export function decodeLinearProgram(inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram {
  const a = attrs as unknown as DecodeLinearAttrs;
  const p = decodeLinearPlan(inputs, a);
  const N = p.n.reduce((s, v) => s + v, 0);
  const names = ['X', ...p.n.map((_, i) => `W${i}`), ...(p.norm ? ['G', 'BETA'] : []), ...(p.bias ? ['BIAS'] : []), ...(p.residual ? ['RES'] : [])];
  if (names.length !== inputs.length) throw new Error(`decode linear: ${inputs.length} inputs for the shader's ${names.join(', ')}`);
  const flags = `${p.norm ? 'n' : ''}${p.bias ? 'b' : ''}${p.relu ? 'r' : ''}${p.residual ? 'a' : ''}`;
  return {
    key: `mlaDecodeLinear_${p.n.join('_')}_${flags}${p.block}`,
    wgsl: () => decodeLinearWgsl(p),
    names,
    size: p.rows * N,
    dispatch: [Math.ceil(N / DL_COLS), Math.ceil(p.rows / p.block), 1],
    workgroupSize: [THREADS, 1, 1],
    uniforms: [
      ['rows', 'i32', p.rows],
      ['width', 'i32', p.width],
      ['offset', 'i32', p.offset],
      ['K', 'i32', p.K],
      ['eps', 'f32', a.eps],
    ],
  };
}

/** Inputs by name in the op's order; the absent optional ones are left out of the shader. */
export const DECODE_LINEAR_KERNELS: WorkgroupKernel[] = [
  {
    kernelName: DECODE_LINEAR_KERNEL,
    inputs: ['x', ...Array.from({ length: DECODE_LINEAR_MAX_WEIGHTS }, (_, i) => `w${i}`), 'gamma', 'beta', 'bias', 'residual'],
    program: decodeLinearProgram,
  },
];

export function registerDecodeLinear(): void {
  registerWorkgroupKernels(DECODE_LINEAR_KERNELS);
}
