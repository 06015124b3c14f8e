// Σ x² over up to 7 tensors in one shader (the op of lib/ops/sum-squares.ts): the gradient's global norm was
// two kernels per parameter (Square, Sum), 342 of a 35M step's dispatches, and a WebGPU step is bound by the host time of
// recording dispatches. Here it is one dispatch per 7 parameters plus the sum of its partials.
// Workgroup (c, i) sums chunk c of input i (SUM_CHUNK elements, strided over 256 threads, then a tree sum in
// workgroup memory) into partial[i·chunks + c]; chunks past an input's end write 0.
// Scalar code only: test/backend/webgpu/sum-squares.test.ts runs it translated to JavaScript.
import type * as tf from '@tensorflow/tfjs-core';
import { SUM_SQUARES_MAX_INPUTS, sumSquaresKernelName } from '../../../ops/sum-squares';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels } from '../program';

const THREADS = 256;
export const SUM_CHUNK = THREADS * 16;

// The kernel taking n inputs x0 … x(n−1) (sumSquaresKernelName(n)) outputs (1, 1, n·chunks) partial sums.

export function sumSquaresWgsl(n: number): string {
  const L: string[] = [`var<workgroup> red : array<f32, ${THREADS}>;`, 'fn main() {'];
  L.push('  let tid = i32(localId.x);');
  L.push('  let chunk = i32(workgroupId.x);');
  L.push('  let which = i32(workgroupId.y);');
  L.push(`  let first = chunk * ${SUM_CHUNK};`);
  L.push('  var acc = 0.0;');
  for (let i = 0; i < n; i++) {
    L.push(`  if (which == ${i}) {`);
    L.push(`    for (var e = tid; e < ${SUM_CHUNK}; e = e + ${THREADS}) {`);
    L.push(`      let idx = first + e;`);
    L.push(`      if (idx < uniforms.len${i}) { let v = X${i}[idx]; acc = acc + v * v; }`);
    L.push('    }');
    L.push('  }');
  }
  L.push('  red[tid] = acc;');
  for (let s = THREADS / 2; s >= 1; s /= 2) {
    L.push('  workgroupBarrier();');
    L.push(`  if (tid < ${s}) { red[tid] = red[tid] + red[tid + ${s}]; }`);
  }
  L.push('  if (tid == 0) { result[which * uniforms.chunks + chunk] = red[0]; }');
  L.push('}');
  return L.join('\n');
}

function program(n: number) {
  return (inputs: tf.TensorInfo[]): WorkgroupProgram => {
    const lengths = inputs.map((t) => t.shape.reduce((a, b) => a * b, 1));
    const chunks = Math.max(1, Math.ceil(Math.max(...lengths) / SUM_CHUNK));
    return {
      key: `mlaSumSquares${n}`,
      wgsl: () => sumSquaresWgsl(n),
      names: inputs.map((_, i) => `X${i}`),
      size: n * chunks,
      dispatch: [chunks, n, 1],
      workgroupSize: [THREADS, 1, 1],
      uniforms: [['chunks', 'i32', chunks], ...lengths.map((len, i) => [`len${i}`, 'i32', len] as [string, 'i32', number])],
    };
  };
}

export const SUM_SQUARES_KERNELS: WorkgroupKernel[] = Array.from({ length: SUM_SQUARES_MAX_INPUTS }, (_, k) => {
  const n = k + 1;
  return { kernelName: sumSquaresKernelName(n), inputs: Array.from({ length: n }, (_, i) => `x${i}`), program: program(n) };
});

export function registerSumSquares(): void {
  registerWorkgroupKernels(SUM_SQUARES_KERNELS);
}
