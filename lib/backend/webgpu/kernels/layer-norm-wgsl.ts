// LayerNorm in three WGSL shaders: forward, dx, and the column sums behind dγ and dβ. Written with tfjs ops
// a LayerNorm is ~21 kernels (forward and backward) and the 35M models run 32 of them per step; on WebGPU each
// kernel costs host time to record (the steps were host-bound, data/bench/device/session-3/), so here it is 3
// shaders plus a sum over row chunks.
// One workgroup of 64 threads owns one row (forward, dx) or a chunk of rows (column sums); thread t holds
// columns t, t + 64, … in registers, and row means are tree reductions through workgroup memory. The row
// statistics are recomputed from x where needed instead of saved, so every shader has one output.
// Same formulas as lib/ops/layer-norm.ts's reference (mean, then the mean of squared deviations; PyTorch's eps):
//   x̂ = (x − μ)·r, r = 1/√(σ² + eps);  y = x̂·γ + β
//   dx = r·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ;  dγ = Σ_rows dy·x̂;  dβ = Σ_rows dy.
// Scalar code only, so test/backend/webgpu/layer-norm.test.ts runs these shaders translated to JavaScript.
// Shape legend: N rows, C the normalised (last) axis.
import { LAYER_NORM_MAX_WIDTH } from '../../../ops/layer-norm';
import { foldedDispatch } from '../program';

export const LN_THREADS = 64;
/** Widest row kept in registers (C / 64 values per thread): the op's LAYER_NORM_MAX_WIDTH. */
export const LN_MAX_WIDTH = LAYER_NORM_MAX_WIDTH;
/** Column-sum workgroups aimed for: enough to fill the GPU, few enough that the final sum is small. */
const LN_TARGET_CHUNKS = 256;

export interface LayerNormPlan {
  rows: number;
  width: number;
  /** Rows per workgroup of the column-sum shader. */
  rowsPerChunk: number;
  chunks: number;
}

export function layerNormPlan(rows: number, width: number): LayerNormPlan {
  if (!Number.isInteger(width) || width < 1 || width > LN_MAX_WIDTH) throw new RangeError(`layer norm kernels: width ${width} (expected 1 to ${LN_MAX_WIDTH})`);
  const rowsPerChunk = Math.max(1, Math.ceil(rows / LN_TARGET_CHUNKS));
  return { rows, width, rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk) };
}

/** Workgroups: one per row (forward, dx) or per chunk, folded into 2-D when over WebGPU's 65,535 per axis. */
export function layerNormDispatch(count: number): [number, number, number] {
  return foldedDispatch(count);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const slots = (width: number) => range(Math.ceil(width / LN_THREADS));

/** Tree sums of `arrays` (already written by every thread) into element 0; ends with a barrier. */
function treeSum(arrays: string[]): string[] {
  const L: string[] = [];
  for (let s = LN_THREADS / 2; s >= 1; s /= 2) {
    L.push('  workgroupBarrier();');
    L.push(`  if (tid < ${s}) { ${arrays.map((a) => `${a}[tid] = ${a}[tid] + ${a}[tid + ${s}];`).join(' ')} }`);
  }
  L.push('  workgroupBarrier();');
  return L;
}

/** Loads row `base` of `buf` into `${name}{k}` (0 past the width), one per slot. */
function loadRow(name: string, buf: string, width: number, guard = ''): string[] {
  return slots(width).map((k) => `  var ${name}${k} = 0.0; if (${guard}col${k} < ${width}) { ${name}${k} = ${buf}[base + col${k}]; }`);
}

/** The row's mean and r = 1/√(var + eps) from x{k}: two tree sums (the second over squared deviations). */
function rowStats(width: number): string[] {
  const ks = slots(width);
  return [
    `  red[tid] = ${ks.map((k) => `x${k}`).join(' + ')};`,
    ...treeSum(['red']),
    `  let mean = red[0] / ${width}.0;`,
    '  workgroupBarrier(); // every thread has read red[0] before it is overwritten',
    ...ks.map((k) => `  let d${k} = select(0.0, x${k} - mean, col${k} < ${width});`),
    `  red[tid] = ${ks.map((k) => `d${k} * d${k}`).join(' + ')};`,
    ...treeSum(['red']),
    `  let r = inverseSqrt(red[0] / ${width}.0 + uniforms.eps);`,
    '  workgroupBarrier();',
  ];
}

const header = (width: number, extra = '') => [
  `var<workgroup> red : array<f32, ${LN_THREADS}>;`,
  extra,
  'fn main() {',
  '  let tid = i32(localId.x);',
  '  let wg = i32(workgroupId.x) + i32(workgroupId.y) * i32(numWorkgroups.x);',
  ...slots(width).map((k) => `  let col${k} = tid + ${k * LN_THREADS};`),
];

/** y (N, C) from X (N, C), G (C,) = γ, BETA (C,). */
export function layerNormForwardWgsl(p: LayerNormPlan): string {
  const C = p.width;
  return [
    ...header(C),
    '  let live = wg < uniforms.rows;',
    `  let base = min(wg, uniforms.rows - 1) * ${C};`,
    ...loadRow('x', 'X', C),
    ...rowStats(C),
    '  if (live) {',
    ...slots(C).map((k) => `    if (col${k} < ${C}) { result[base + col${k}] = d${k} * r * G[col${k}] + BETA[col${k}]; }`),
    '  }',
    '}',
  ].join('\n');
}

/** dx (N, C) from X, G = γ and DY (N, C). */
export function layerNormDxWgsl(p: LayerNormPlan): string {
  const C = p.width;
  const ks = slots(C);
  return [
    ...header(C, `var<workgroup> red2 : array<f32, ${LN_THREADS}>;`),
    '  let live = wg < uniforms.rows;',
    `  let base = min(wg, uniforms.rows - 1) * ${C};`,
    ...loadRow('x', 'X', C),
    ...loadRow('dy', 'DY', C),
    ...rowStats(C),
    ...ks.map((k) => `  let xh${k} = d${k} * r;`),
    ...ks.map((k) => `  var g${k} = 0.0; if (col${k} < ${C}) { g${k} = dy${k} * G[col${k}]; }`),
    `  red[tid] = ${ks.map((k) => `g${k}`).join(' + ')};`,
    `  red2[tid] = ${ks.map((k) => `g${k} * xh${k}`).join(' + ')};`,
    ...treeSum(['red', 'red2']),
    `  let meanG = red[0] / ${C}.0;`,
    `  let meanGX = red2[0] / ${C}.0;`,
    '  if (live) {',
    ...ks.map((k) => `    if (col${k} < ${C}) { result[base + col${k}] = r * (g${k} - meanG - xh${k} * meanGX); }`),
    '  }',
    '}',
  ].join('\n');
}

/** Per chunk of rows: Σ dy·x̂ then Σ dy per column → (chunks, 2, C). Inputs X, DY. */
export function layerNormColumnSumsWgsl(p: LayerNormPlan): string {
  const C = p.width;
  const ks = slots(C);
  return [
    ...header(C),
    ...ks.map((k) => `  var sumGamma${k} = 0.0;`),
    ...ks.map((k) => `  var sumBeta${k} = 0.0;`),
    // A uniform trip count: the loop holds barriers (the row statistics), so rows past N load zeros instead.
    '  for (var i = 0; i < uniforms.rowsPerChunk; i = i + 1) {',
    '  let row = wg * uniforms.rowsPerChunk + i;',
    '  let live = row < uniforms.rows;',
    `  let base = min(row, uniforms.rows - 1) * ${C};`,
    ...loadRow('x', 'X', C),
    ...loadRow('dy', 'DY', C, 'live && '),
    ...rowStats(C),
    ...ks.map((k) => `  sumGamma${k} = sumGamma${k} + dy${k} * d${k} * r;`),
    ...ks.map((k) => `  sumBeta${k} = sumBeta${k} + dy${k};`),
    '  }',
    `  let outBase = wg * ${2 * C};`,
    ...ks.map((k) => `  if (col${k} < ${C} && wg < uniforms.chunks) { result[outBase + col${k}] = sumGamma${k}; result[outBase + ${C} + col${k}] = sumBeta${k}; }`),
    '}',
  ].join('\n');
}
