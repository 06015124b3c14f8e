// Per-row cross-entropy of the logits (N, V) (the op of lib/ops/cross-entropy.ts) in two WGSL shaders. With
// tfjs ops the loss took a log-sum-exp (max, subtract, exp, sum, log, add) and a gather, and its gradient an exp of the
// whole (N, V) array, a product, a scatter into a zeroed (N·V) array and an add: at N = 8,192 rows and V =
// 10,000 each of those is a pass over 328 MB. Here:
//   forward  one workgroup of 256 threads per row: the row's max and Σ exp(x − max) as tree reductions, then
//            loss = lse − x[target] and lse itself, written as (N, 2);
//   gradient one thread per element: (exp(x − lse) − [j = target]) · dy.
// Scalar code only: test/backend/webgpu/cross-entropy.test.ts runs both translated to JavaScript.
import type * as tf from '@tensorflow/tfjs-core';
import { CROSS_ENTROPY_GRAD_KERNEL, CROSS_ENTROPY_KERNEL } from '../../../ops/cross-entropy';
import { FOLDED_WORKGROUP, type WorkgroupKernel, foldedDispatch, registerWorkgroupKernels } from '../program';

const THREADS = 256;

/** Tree reduction of red[0 .. 255] into red[0] with `op`; ends with a barrier. */
function tree(op: (a: string, b: string) => string): string[] {
  const L: string[] = [];
  for (let s = THREADS / 2; s >= 1; s /= 2) {
    L.push('  workgroupBarrier();');
    L.push(`  if (tid < ${s}) { red[tid] = ${op('red[tid]', `red[tid + ${s}]`)}; }`);
  }
  L.push('  workgroupBarrier();');
  return L;
}

export const CROSS_ENTROPY_WGSL = [
  `var<workgroup> red : array<f32, ${THREADS}>;`,
  'fn main() {',
  '  let tid = i32(localId.x);',
  `  let row = ${FOLDED_WORKGROUP}; // uniform per workgroup`,
  '  let live = row < uniforms.rows;',
  '  let base = min(row, uniforms.rows - 1) * uniforms.V;',
  '  var m = -3.0e38;',
  `  for (var j = tid; j < uniforms.V; j = j + ${THREADS}) { m = max(m, X[base + j]); }`,
  '  red[tid] = m;',
  ...tree((a, b) => `max(${a}, ${b})`),
  '  let rowMax = red[0];',
  '  workgroupBarrier(); // every thread has read red[0] before it is overwritten',
  '  var s = 0.0;',
  `  for (var j = tid; j < uniforms.V; j = j + ${THREADS}) { s = s + exp(X[base + j] - rowMax); }`,
  '  red[tid] = s;',
  ...tree((a, b) => `${a} + ${b}`),
  '  if (tid == 0 && live) {',
  '    let lse = rowMax + log(red[0]);',
  '    result[row * 2] = lse - X[base + TARGETS[row]];',
  '    result[row * 2 + 1] = lse;',
  '  }',
  '}',
].join('\n');

export const CROSS_ENTROPY_GRAD_WGSL = `fn fa_div(a : i32, b : i32) -> i32 { return a / b; }
fn main() {
  let index = ${FOLDED_WORKGROUP} * ${THREADS} + i32(localId.x);
  if (index >= uniforms.total) { return; }
  let row = fa_div(index, uniforms.V);
  let j = index - row * uniforms.V;
  var g = exp(X[index] - STATS[row * 2 + 1]);
  if (j == TARGETS[row]) { g = g - 1.0; }
  result[index] = g * DY[row];
}`;

export const CROSS_ENTROPY_KERNELS: WorkgroupKernel[] = [
  {
    kernelName: CROSS_ENTROPY_KERNEL,
    inputs: ['logits', 'targets'],
    program: ([logits]: tf.TensorInfo[]) => {
      const [N, V] = logits.shape;
      return {
        key: 'mlaCrossEntropy',
        wgsl: () => CROSS_ENTROPY_WGSL,
        names: ['X', 'TARGETS'],
        size: 2 * N,
        dispatch: foldedDispatch(N),
        workgroupSize: [THREADS, 1, 1],
        uniforms: [
          ['rows', 'i32', N],
          ['V', 'i32', V],
        ],
      };
    },
  },
  {
    kernelName: CROSS_ENTROPY_GRAD_KERNEL,
    inputs: ['logits', 'stats', 'targets', 'dy'],
    program: ([logits]: tf.TensorInfo[]) => {
      const [N, V] = logits.shape;
      return {
        key: 'mlaCrossEntropyGrad',
        wgsl: () => CROSS_ENTROPY_GRAD_WGSL,
        names: ['X', 'STATS', 'TARGETS', 'DY'],
        size: N * V,
        dispatch: foldedDispatch(Math.ceil((N * V) / THREADS)),
        workgroupSize: [THREADS, 1, 1],
        uniforms: [
          ['total', 'i32', N * V],
          ['V', 'i32', V],
        ],
      };
    },
  },
];

/** Registers both kernels on 'webgpu'. */
export function registerCrossEntropyKernels(): void {
  registerWorkgroupKernels(CROSS_ENTROPY_KERNELS);
}
